/**
 * The office contract: what Collabora Online provides to the Nextcloud instances of the same host
 * (richdocuments settings). Nextcloud reads it when Collabora runs here; otherwise Office stays off.
 */
export interface OfficeEndpoint {
  /** Where Nextcloud fetches the WOPI discovery, on the edge network: `http://collabora:9980`. */
  internalUrl: string;
  /** Where browsers load the editor from: `https://office.<domain>`. */
  publicUrl: string;
}
