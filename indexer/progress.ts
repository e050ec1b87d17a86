import cliProgress from 'cli-progress';

/** Progress of one phase at a time; a bar on a terminal, plain lines in logs and CI. */
export interface Progress {
  start(phase: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, update() {}, stop() {} };

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  let bar: cliProgress.SingleBar | undefined;
  return {
    start(phase, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${phase.padEnd(8)} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
    },
    update(done) {
      bar?.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** One line per 10% (and at the end), so a log shows movement without flooding. */
function lineProgress(stream: NodeJS.WriteStream): Progress {
  let phase = '';
  let total = 0;
  let lastDecile = -1;
  return {
    start(p, t) {
      phase = p;
      total = t;
      lastDecile = -1;
    },
    update(done) {
      const decile = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${phase}: ${done}/${total} (${total === 0 ? 100 : Math.round((done / total) * 100)}%)\n`);
      }
    },
    stop() {},
  };
}
