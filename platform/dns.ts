/** A DNS record the domain needs for this host (printed by the plan, exported by the stack). */
export interface DnsRecord {
  name: string;
  type: "A" | "AAAA" | "CNAME" | "MX" | "TXT" | "SRV";
  value: string;
}
