"""--param specifications: every form, and errors that list the valid forms."""

import pytest

pytest.importorskip("optuna", reason="nabla.tune needs Optuna: pip install 'nabla[tune]'")

import optuna

from nabla.tune import OptunaPruning, Param, parse_param


@pytest.mark.parametrize("text, want", [
    ("lr=log:1e-4:1e-1", Param("lr", "float", 1e-4, 1e-1, log=True)),
    ("dropout=0:0.5", Param("dropout", "float", 0.0, 0.5)),
    ("dropout=float:0:0.5", Param("dropout", "float", 0.0, 0.5)),
    ("batch_size=int:16:128", Param("batch_size", "int", 16, 128)),
    ("batch_size=int:log:16:128", Param("batch_size", "int", 16, 128, log=True)),
    ("hidden=choice:128,256,512", Param("hidden", "choice", choices=(128, 256, 512))),
    ("hidden=choice:(256,128),(512,)", Param("hidden", "choice", choices=((256, 128), (512,)))),
    ("activation=choice:relu,tanh", Param("activation", "choice", choices=("relu", "tanh"))),
])
def test_forms(text, want):
    assert parse_param(text) == want


@pytest.mark.parametrize("text, why", [
    ("lr", "expected NAME=SPEC"),
    ("1x=0:1", "expected NAME=SPEC"),
    ("lr=log:0:1", "a log scale needs LOW > 0"),
    ("lr=0.5:0.1", "LOW must be below HIGH"),
    ("lr=0.1", "expected two bounds"),
    ("lr=a:b", "'a' is not a number"),
    ("n=int:1.5:4", "not a whole number"),
    ("lr=cube:1:2:3", "unknown kind 'cube'"),
    ("h=choice:", "at least one value"),
    ("h=choice:1,1", "listed twice"),
])
def test_errors_name_the_problem_and_list_the_forms(text, why):
    with pytest.raises(ValueError) as e:
        parse_param(text)
    assert why in str(e.value) and "NAME=log:LOW:HIGH" in str(e.value) and "NAME=choice:A,B,C" in str(e.value)


def test_suggestions_stay_in_range_and_tuples_come_back():
    params = [parse_param(t) for t in ("lr=log:1e-4:1e-1", "n=int:2:5", "hidden=choice:(256,128),(64,)")]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        lr, n, hidden = (p.suggest(trial) for p in params)
        assert 1e-4 <= lr <= 1e-1 and n in range(2, 6) and hidden in ((256, 128), (64,))
        study.tell(trial, 0.0)


def test_pruning_callback_stops_fit_when_the_pruner_says_so():
    import nabla as nb
    from nabla.data import DataLoader, TensorDataset
    from nabla.train import Trainer

    x = nb.randn(64, 4)
    y = (x.numpy()[:, 0] > 0).astype("int64")
    data = DataLoader(TensorDataset(x, nb.tensor(y)), batch_size=16)
    model = nb.nn.Linear(4, 2)
    trainer = Trainer(model, nb.optim.SGD(model.parameters(), lr=0.1), nb.nn.CrossEntropyLoss(), ["accuracy"])
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    trial = study.ask()
    cb = OptunaPruning(trial, "val_accuracy")
    history = trainer.fit(data, epochs=5, val_data=data, callbacks=[cb], verbose=0)
    assert cb.pruned_at == 0 and len(history.epoch) == 1
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {0: history["val_accuracy"][0]}
    with pytest.raises(KeyError, match="'val_auc' is not in the epoch's logs"):
        trainer.fit(data, epochs=1, val_data=data, callbacks=[OptunaPruning(study.ask(), "val_auc")], verbose=0)
