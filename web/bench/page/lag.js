// Event-loop lag and long tasks of the page's main thread, as bench.js measures them for one upload: a
// 10 ms timer whose tick is more than 50 ms late is a stall; long tasks are counted too, but they miss
// work that runs in many short tasks or after an await. start() resets and starts counting, stop()
// stops and returns the figures.

const TICK = 10;
const lag = { active: false, ticks: 0, stalls: 0, maxLate: 0 };
const longTasks = { count: 0, ms: 0 };
let last = performance.now();

function tick() {
  const now = performance.now();
  const late = now - last - TICK;
  last = now;
  if (lag.active) {
    lag.ticks++;
    if (late > 50) lag.stalls++;
    if (late > lag.maxLate) lag.maxLate = late;
  }
  setTimeout(tick, TICK);
}
setTimeout(tick, TICK);

try {
  new PerformanceObserver((list) => {
    if (!lag.active) return;
    for (const e of list.getEntries()) {
      longTasks.count++;
      longTasks.ms += e.duration;
    }
  }).observe({ type: "longtask" });
} catch {
  // no long-task timing: the counts stay 0
}

export function start() {
  lag.ticks = lag.stalls = lag.maxLate = 0;
  longTasks.count = longTasks.ms = 0;
  lag.active = true;
}

// mark returns the figures so far without stopping: the lag of one phase (queueing) within the run.
export function mark() {
  return { ticks: lag.ticks, stalls: lag.stalls, maxLateMs: Math.max(lag.maxLate, 0), longTasks: longTasks.count, longTaskMs: longTasks.ms };
}

export function stop() {
  lag.active = false;
  return mark();
}
