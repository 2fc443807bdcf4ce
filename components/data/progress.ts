import type { Progress } from '../../dsl/executor';

/**
 * DuckDB re-estimates a statement's progress as it goes, and the estimate can dip; a bar that moves
 * backwards confuses whoever watches the run, so reported fractions never decrease.
 */
export function monotonicProgress(report: (progress: Progress) => void): (progress: Progress) => void {
  let highest = 0;
  return (progress) => {
    if (progress.fraction === undefined) return report(progress);
    highest = Math.max(highest, progress.fraction);
    report({ ...progress, fraction: highest });
  };
}
