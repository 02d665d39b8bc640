// A take-over claim's key (several instances on PostgreSQL): a claim makes a dead instance's rows this
// instance's. When its answer is lost after it committed (the connection dropped), those rows are this
// instance's and no later claim takes them again (a claim takes dead instances' rows only), so they
// would wait, with nobody to hand them on, until this instance stops. The next claim passes the same
// key, and the store answers the rows taken with it too; a new key once a claim made with it is answered.
import { randomUUID } from 'node:crypto';

export class ClaimKey {
  private key: string | undefined;
  private claiming = false;

  /**
   * Runs `claim` with the key; null, without running it, while a claim is still under way (two with
   * the same key would both be answered the rows taken with it).
   */
  async claim<T>(claim: (key: string) => Promise<T>): Promise<T | null> {
    if (this.claiming) return null;
    this.claiming = true;
    const key = (this.key ??= randomUUID());
    try {
      const answer = await claim(key);
      this.key = undefined;
      return answer;
    } finally {
      this.claiming = false;
    }
  }
}
