import { Command, Option } from 'commander';
import { apiFor, printAs, type Ctx } from '../context';
import { CliError, ExitCode } from '../errors';
import type { Api } from '../http';
import { CLUSTERS, clusterPath, condition, type ClusterView } from '../jobs';
import { age, table, type Colour } from '../output';

/** Clusters per page: the CLI never asks for the whole fleet in one answer. */
const PAGE = 500;
const READY_COLOUR: Record<string, Colour> = { True: 'green', False: 'red', Unknown: 'yellow' };

async function listClusters(api: Api, selector: string | undefined): Promise<{ items: ClusterView[]; resourceVersion?: string }> {
  const items: ClusterView[] = [];
  let next: string | undefined;
  let resourceVersion: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (selector) query.set('labelSelector', selector);
    if (next) query.set('continue', next);
    const page = await api.json<{ items: ClusterView[]; metadata?: { continue?: string; resourceVersion?: string } }>('GET', `${CLUSTERS}?${query}`);
    items.push(...page.items);
    next = page.metadata?.continue || undefined;
    resourceVersion ??= page.metadata?.resourceVersion;
  } while (next);
  return { items, resourceVersion };
}

function rows(items: ClusterView[], wide: boolean) {
  return items.map((c) => {
    const ready = condition(c, 'Ready');
    const state = c.metadata.deletionTimestamp ? 'Removing' : (ready?.status ?? 'Unknown');
    const cells = [
      c.metadata.name,
      state,
      c.spec?.provider || '<detecting>',
      c.status?.kubernetesVersion ?? '',
      c.status?.nodeCount === undefined ? '' : String(c.status.nodeCount),
      age(c.metadata.creationTimestamp),
    ];
    if (wide) cells.push(ready?.reason ?? '', c.status?.zones?.join(',') ?? '');
    return { cells, colours: [undefined, c.metadata.deletionTimestamp ? 'yellow' : READY_COLOUR[state]] as (Colour | undefined)[] };
  });
}

export function getCommand(ctx: Ctx): Command {
  const get = new Command('get').description('show Flotilla resources');
  get
    .command('clusters')
    .alias('cluster')
    .description('the clusters, with their health at a glance')
    .argument('[names...]', 'only these clusters')
    .option('-l, --selector <selector>', 'label selector, e.g. env=prod,tier in (a,b)')
    .addOption(new Option('-o, --output <format>', 'wide (adds REASON and ZONES), json or yaml').choices(['wide', 'json', 'yaml']))
    .addHelpText('after', '\nExamples:\n  flotilla get clusters\n  flotilla get clusters -l env=prod -o wide\n  flotilla get clusters prod-eu -o yaml')
    .action(async (names: string[], opts: { selector?: string; output?: string }) => {
      const api = apiFor(ctx);
      let items: ClusterView[];
      let resourceVersion: string | undefined;
      if (names.length > 0) {
        if (opts.selector) throw new CliError(ExitCode.Usage, 'name clusters or give -l, not both');
        items = [];
        for (const name of names) items.push(await api.json<ClusterView>('GET', clusterPath(name)));
        if (names.length === 1 && printAs(ctx, opts.output, items[0])) return;
      } else {
        ({ items, resourceVersion } = await listClusters(api, opts.selector));
      }
      if (printAs(ctx, opts.output, { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'ClusterList', metadata: { resourceVersion: resourceVersion ?? '' }, items })) return;
      if (items.length === 0) {
        ctx.io.err(opts.selector ? `No clusters match ${opts.selector}.\n` : 'No clusters yet: import one with `flotilla import NAME --kubeconfig FILE`.\n');
        return;
      }
      const wide = opts.output === 'wide';
      const header = ['NAME', 'READY', 'PROVIDER', 'VERSION', 'NODES', 'AGE', ...(wide ? ['REASON', 'ZONES'] : [])];
      ctx.io.out(table(header, rows(items, wide), ctx.io.color));
    });
  return get;
}
