/**
 * Nodes are listed metadata-only (names and labels are all Flotilla reads): a real node object
 * carries its status, images and conditions, tens of KiB each. Servers that cannot serve the
 * metadata-only representation fall back to the plain list through the second media type.
 */
export const NODES_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
/** Nodes per list page, and the most pages read (10,000 nodes, far above any supported cluster size). */
export const NODE_PAGE_SIZE = 500;
export const MAX_NODE_PAGES = 20;

export interface NodeMetadata {
  name: string;
  labels: Record<string, string>;
}

/** One GET of a member path with an Accept header; the body already parsed (bounded). */
export type NodePageFetcher = (path: string, accept: string) => Promise<{ status: number; body: unknown }>;

export interface NodeListing {
  /** The status of the last page read: 200, or the first page that was not a 200. */
  status: number;
  /** False when a page was not a 200 or not a list: nothing more is known. */
  listed: boolean;
  /** False when the member has more nodes than MAX_NODE_PAGES pages. */
  complete: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function labelsOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Every node's name and labels, page by page (limit/continue), metadata only; each page is
 * handed to `onPage` as it arrives, so no more than one page is held at a time.
 */
export async function listNodeMetadata(fetch: NodePageFetcher, onPage: (nodes: NodeMetadata[]) => void): Promise<NodeListing> {
  let next = '';
  for (let page = 0; page < MAX_NODE_PAGES; page++) {
    const query = `?limit=${NODE_PAGE_SIZE}${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
    const answer = await fetch(`/api/v1/nodes${query}`, NODES_ACCEPT);
    if (answer.status !== 200) return { status: answer.status, listed: false, complete: false };
    const list = answer.body;
    // A 200 that is not a list: nothing is known about the nodes (not "zero nodes").
    if (!isObject(list) || !Array.isArray(list.items)) return { status: 200, listed: false, complete: false };
    onPage(
      list.items.map((n: unknown) => {
        const metadata = isObject(n) && isObject(n.metadata) ? n.metadata : {};
        return { name: typeof metadata.name === 'string' ? metadata.name : '', labels: labelsOf(metadata.labels) };
      }),
    );
    const cont = isObject(list.metadata) ? list.metadata.continue : undefined;
    next = typeof cont === 'string' ? cont : '';
    if (!next) return { status: 200, listed: true, complete: true };
  }
  return { status: 200, listed: true, complete: false };
}
