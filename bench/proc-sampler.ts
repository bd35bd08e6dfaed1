import { readFileSync } from 'node:fs';

/** Peak RSS and CPU seconds of whichever process `pid()` names, sampled from /proc every 100 ms (Linux). */
export class ProcSampler {
  peakRssMb = 0;
  private cpuTicks = 0;
  private last = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pid: () => number | undefined) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 100);
  }

  stop(): { peakRssMb: number; cpuSeconds: number } {
    clearInterval(this.timer);
    this.sample();
    return { peakRssMb: Math.round(this.peakRssMb), cpuSeconds: this.cpuTicks / 100 };
  }

  private sample(): void {
    const pid = this.pid();
    if (!pid) return;
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) this.peakRssMb = Math.max(this.peakRssMb, Number(rss[1]) / 1024);
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const ticks = Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100/s on Linux)
      this.cpuTicks += ticks - (this.last.get(pid) ?? 0);
      this.last.set(pid, ticks);
    } catch {
      // the process exited between two samples: its last sample stands
    }
  }
}
