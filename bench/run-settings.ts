// The full benchmark's knobs (read from the environment once) and the file sizes it measures.
// BENCH_SECONDS=n: measured seconds per cell, default 2; BENCH_ROUNDS=n: rounds, default 5;
// BENCH_WARMUP_SECONDS=n: the warm-up of every setup before anything is measured, default 5;
// BENCH_SIZES="1 KiB,1 MiB": only those sizes (for profiling; the report needs all three).

/** Servers (nginx, Node, Redis) run on this core, wrk on the other. */
export const SERVER_CPU = '0'
export const LOAD_CPU = '1'
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
// This machine's speed drifts by 10-30% over a minute, so setups are measured in interleaved rounds
// (every setup once, then again, in reverse order every other round so no setup always runs right
// after another) and each cell reports its median round. The targets compare setups round by
// round: a ratio of two runs seconds apart, then the median of those ratios.
export const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5))
/** Before each size, every setup gets this much of it: caches, buffers, connections. */
export const WARMUP_SECONDS = 1
// Before anything is measured, every setup gets this much 1 KiB load. V8 compiles a process's hot
// code in tiers while it runs: the gateway, with far more code on its path than the bare handler,
// reached its steady CPU per request only after about 5 s of load (the bare handler after about
// 3), so its first rounds after a 1 s warm-up measured a process still compiling.
export const START_WARMUP_SECONDS = Math.max(0, Number(process.env.BENCH_WARMUP_SECONDS ?? 5))
/** The sizes to run, or undefined for all (BENCH_SIZES). */
export const ONLY_SIZES = process.env.BENCH_SIZES?.split(',')
export const MiB = 1024 * 1024

export const SIZES = [
  { label: '1 KiB', file: 'bench/1k.bin', bytes: 1024, connections: 64, minSeconds: 0, maxRounds: ROUNDS },
  { label: '1 MiB', file: 'bench/1m.bin', bytes: MiB, connections: 64, minSeconds: 0, maxRounds: ROUNDS },
  // A 256 MiB run lasts about a quarter second: fewer, longer rounds keep the run under 5 minutes.
  { label: '256 MiB', file: 'bench/256m.bin', bytes: 256 * MiB, connections: 4, minSeconds: 5, maxRounds: 3 },
] as const

export type Size = (typeof SIZES)[number]
