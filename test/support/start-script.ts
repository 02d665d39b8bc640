// scripts/start.js (plain JavaScript, run by `npm start`) with the types of what the specs call.
import path from 'node:path';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: 'pipe' | 'inherit';
}

interface StartScript {
  /** Runs a command; resolves with its output. */
  run(command: string, args: string[], options?: RunOptions): Promise<string>;
  /** The npm CLI that runs `npm test` (npm_execpath), or the one beside this Node. */
  ambientNpmCli(): string;
  /** The environment for an npm run by `node`, with its headers in `nodedir`. */
  npmEnv(node: string, nodedir?: string): NodeJS.ProcessEnv;
  /** `npm pack` into `destDir`; resolves with the tarball's path. */
  pack(destDir: string): Promise<string>;
  /** A Node-RED user directory, with the package.json Node-RED would write. */
  createUserDir(dir: string): string;
  /** Installs a tarball into a user directory as the palette manager does. */
  installTarball(options: { userDir: string; tarball: string; node?: string; redJs: string; nodedir?: string; stdio?: 'pipe' | 'inherit' }): Promise<string>;
  /** Writes the examples as flows.json unless the user directory has flows; resolves with how many. */
  loadExampleFlows(userDir: string, examplesDir?: string): number;
}

export const { run, ambientNpmCli, npmEnv, pack, createUserDir, installTarball, loadExampleFlows } =
  require(path.join(__dirname, '..', '..', 'scripts', 'start.js')) as StartScript;
