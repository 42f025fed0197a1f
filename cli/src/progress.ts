import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { paint, type Io } from './output';

/** The import or removal job as the gateway shows it (ImportJob, docs/import.md). */
export interface JobView {
  kind?: string;
  metadata: { name: string };
  spec: { type: 'import' | 'remove'; clusterName: string; clusterUid: string };
  status: {
    state: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
    step?: string;
    percent?: number;
    message?: string;
    steps?: { name: string; state: 'Running' | 'Succeeded' | 'Failed' | 'Skipped'; message?: string }[];
    warnings?: string[];
    orphans?: { kind: string; namespace?: string; name: string; reason: string }[];
  };
}

const MARK = { Succeeded: '✓', Skipped: '-', Failed: '✗', Running: '…' } as const;
const COLOUR = { Succeeded: 'green', Skipped: 'dim', Failed: 'red', Running: 'yellow' } as const;

/**
 * Shows a job's progress: a bar with the percent and the current step on a terminal, and a line
 * per finished step (with the job's percent at that moment) elsewhere, so logs keep the steps.
 */
export class JobProgress {
  private readonly printed = new Set<string>();
  private multi?: MultiBar;
  private bar?: SingleBar;

  constructor(
    private readonly io: Io,
    private readonly title: string,
    private readonly quiet = false,
  ) {
    if (io.errTty && !quiet) {
      this.multi = new MultiBar(
        { format: `${title} {bar} {percentage}% | {step}`, stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 30, autopadding: true },
        Presets.shades_classic,
      );
      this.bar = this.multi.create(100, 0, { step: 'Pending' });
    } else if (!quiet) {
      io.err(`${title}\n`);
    }
  }

  update(job: JobView): void {
    if (this.quiet) return;
    const percent = Math.max(0, Math.min(100, Math.round(job.status.percent ?? 0)));
    for (const step of job.status.steps ?? []) {
      if (step.state === 'Running') continue;
      const key = `${step.name}/${step.state}`;
      if (this.printed.has(key)) continue;
      this.printed.add(key);
      const note = step.state === 'Failed' || step.state === 'Skipped' ? (step.message ? `: ${step.message}` : '') : '';
      this.line(`${String(percent).padStart(3)}% ${paint(this.io.errColor, COLOUR[step.state], MARK[step.state])} ${step.name}${note}`);
    }
    this.bar?.update(percent, { step: job.status.step ?? job.status.state });
  }

  /** A line above the bar (or on its own without one). */
  line(text: string): void {
    if (this.quiet) return;
    if (this.multi) this.multi.log(`${text}\n`);
    else this.io.err(`${text}\n`);
  }

  stop(): void {
    // A render flushes the lines logged since the last one (the bar renders on a timer).
    this.multi?.update();
    this.multi?.stop();
    this.multi = undefined;
    this.bar = undefined;
  }
}
