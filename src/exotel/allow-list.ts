// The IP allow-list of a webhook, as written in the editor: "52.74.0.0/16, 10.1.2.3, 2001:db8::/32".
// Pure (no Node): the editor's check (through the exotel-inbound contract) and the runtime's
// BlockList (exotel/auth.ts) read the entries from this one parser.

export interface AllowListEntry {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

export function isIPv4Address(text: string): boolean {
  return IPV4.test(text);
}

/** Eight hexadecimal groups, "::" for a run of zero groups, an IPv4 address as the last two. */
export function isIPv6Address(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  let groups = 0;
  for (let h = 0; h < halves.length; h++) {
    if (halves[h] === '') continue;
    const parts = halves[h].split(':');
    for (let i = 0; i < parts.length; i++) {
      const last = h === halves.length - 1 && i === parts.length - 1;
      if (last && IPV4.test(parts[i])) groups += 2;
      else if (HEX_GROUP.test(parts[i])) groups += 1;
      else return false;
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/** One entry, or null when it is not an address or a CIDR range. */
export function parseAllowListEntry(entry: string): AllowListEntry | null {
  const parts = entry.split('/');
  if (parts.length > 2) return null;
  const [address, prefixText] = parts;
  const family = isIPv4Address(address) ? 'ipv4' : isIPv6Address(address) ? 'ipv6' : null;
  if (!family) return null;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) return null;
  return { address, prefix: Number(prefixText), family };
}

/** The entries of an allow-list text (separated by commas, semicolons or spaces); empty allows everyone. */
export function allowListEntries(text: string | undefined): { entries: AllowListEntry[]; bad: string | null } {
  const entries: AllowListEntry[] = [];
  for (const written of String(text ?? '').split(/[\s,;]+/).filter(Boolean)) {
    const entry = parseAllowListEntry(written);
    if (!entry) return { entries, bad: written };
    entries.push(entry);
  }
  return { entries, bad: null };
}
