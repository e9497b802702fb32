"""7.3's KerasTuner plumbing: the tuner kept in the run folder, and its trials read back (failed ones named)."""

import sys

from chapters.errors import RunFailed


def make_tuner(run, build_model, objective, max_trials, executions_per_trial, folder):
    """KerasTuner's BayesianOptimization, its trials kept in `folder` (inside the run folder).

    A new run starts a new search; --resume reloads the search from its folder and continues it.
    """
    import keras_tuner as kt

    class Tuner(kt.BayesianOptimization):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            run.mark_progress()  # a finished trial is worth resuming

    return Tuner(build_model, objective=objective, max_trials=max_trials,
                 executions_per_trial=executions_per_trial, seed=run.seed, directory=str(folder.parent),
                 project_name=folder.name, overwrite=not run.resumed)


def completed_trials(tuner):
    """The search's completed trials, best first; one line for each failed trial, and RunFailed if none completed.

    KerasTuner records a trial whose model could not be built or trained as failed (with its traceback) and goes
    on with the next; its score is then None.
    """
    trials = list(tuner.oracle.trials.values())
    failed = [t for t in trials if t.status in ("FAILED", "INVALID")]
    for trial in failed:
        print(f"trial {trial.trial_id} failed: {last_line(trial.message)}", file=sys.stderr)
    completed = [t for t in tuner.oracle.get_best_trials(num_trials=len(trials)) if t.status == "COMPLETED"]
    if not completed:
        reason = last_line(failed[0].message) if failed else "no trial ran"
        raise RunFailed(f"the hyperparameter search has no completed trial ({len(failed)} failed; "
                        f"the first: {reason})")
    return completed


def last_line(message):
    """The exception line at the end of a traceback KerasTuner kept."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no reason recorded"
