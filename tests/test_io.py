"""nabla.io: safetensors save/load — round trips, PyTorch interop, atomic writes, clear errors, no pickle."""

import json
import math
import os
import pickle
import re
import struct

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from hypothesis import given, settings, strategies as st
from safetensors import safe_open

import nabla
from nabla import io as nio
from nabla.io import atomic

ALL_DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def _random_array(dtype: str, shape, rng: np.random.Generator) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < 0.5
    d = np.dtype(dtype)
    if d.kind == "f":  # every bit pattern, NaN payloads, infinities and -0.0 included
        return rng.integers(0, 256, size=(*shape, d.itemsize), dtype=np.uint8).view(d).reshape(shape)
    info = np.iinfo(d)
    return rng.integers(info.min, info.max, size=shape, dtype=d, endpoint=True)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_every_dtype_round_trips_bit_exactly(tmp_path, dtype):
    rng = np.random.default_rng(0)
    arrays = {
        "matrix": _random_array(dtype, (7, 5), rng),
        "scalar": _random_array(dtype, (), rng),
        "empty": _random_array(dtype, (0, 3), rng),
        "deep": _random_array(dtype, (2, 1, 3, 2), rng),
    }
    sd = {k: nabla.tensor(v) for k, v in arrays.items()}
    sd["transposed"] = nabla.tensor(arrays["matrix"]).T  # not contiguous in memory
    path = tmp_path / "t.safetensors"
    nio.save(sd, path)
    out = nio.load(path)
    assert list(out) == list(sd)
    for k, v in sd.items():
        assert isinstance(out[k], nabla.Tensor)
        assert _same_bits(out[k].numpy(), np.asarray(v.numpy())), k
        assert out[k].device == "cpu"


def test_nested_metadata_round_trips_exactly(tmp_path):
    w = nabla.randn(3, 2)
    sd = {
        "model": {"0.weight": w, "0.bias": nabla.zeros(3)},
        "optimizer": {
            "state": {0: {"step": 12, "exp_avg": nabla.randn(3, 2), "exp_avg_sq": nabla.rand(3, 2)}, 1: {}},
            "param_groups": [
                {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                 "params": [0, 1], "foreach": None, "name": "déjà vu ∇ \"quoted\"\n"},
            ],
        },
        "epoch": 7,
        "big": 2**80,
        "neg_zero": -0.0,
        "specials": [float("nan"), float("inf"), float("-inf")],
        "keys": {1.5: "float key", True: "bool key", None: "none key", -3: "int key", "s": "str key"},
        "empties": ([], (), {}, ""),
        "tensors_in_lists": [nabla.ones(2), (nabla.arange(3),)],
        "numpy_scalars": [np.float32(0.1), np.int64(5), np.bool_(True)],
    }
    path = tmp_path / "ckpt.safetensors"
    nio.save(sd, path)
    out = nio.load(path)

    pg = out["optimizer"]["param_groups"][0]
    assert pg == {k: v for k, v in sd["optimizer"]["param_groups"][0].items()}
    assert type(pg["betas"]) is tuple and type(pg["params"]) is list
    assert list(out["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    assert out["optimizer"]["state"][0]["step"] == 12 and out["optimizer"]["state"][1] == {}
    assert out["epoch"] == 7 and out["big"] == 2**80
    assert math.copysign(1.0, out["neg_zero"]) == -1.0
    nan, inf, ninf = out["specials"]
    assert math.isnan(nan) and inf == math.inf and ninf == -math.inf
    assert out["keys"] == sd["keys"] and [type(k) for k in out["keys"]] == [float, bool, type(None), int, str]
    assert out["empties"] == ([], (), {}, "") and type(out["empties"]) is tuple
    assert out["numpy_scalars"] == [float(np.float32(0.1)), 5, True]
    assert type(out["numpy_scalars"][1]) is int and type(out["numpy_scalars"][2]) is bool
    assert _same_bits(out["model"]["0.weight"].numpy(), w.numpy())
    assert _same_bits(out["tensors_in_lists"][1][0].numpy(), np.arange(3))
    assert type(out["tensors_in_lists"][1]) is tuple

    # Tensor names are flat and readable; the structure is JSON in __metadata__.
    with safe_open(str(path), framework="np") as f:
        assert set(f.keys()) == {
            "model.0.weight", "model.0.bias", "optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq",
            "tensors_in_lists.0", "tensors_in_lists.1.0",
        }
        meta = f.metadata()
    assert meta["format"] == "pt"
    assert json.loads(meta["nabla"])["format_version"] == 1


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.tuples(kids, kids)
    | st.dictionaries(st.integers() | st.text(max_size=4), kids, max_size=3),
    max_leaves=12,
)


@settings(max_examples=50, deadline=None)
@given(meta=_plain)
def test_any_plain_metadata_round_trips(tmp_path_factory, meta):
    path = tmp_path_factory.mktemp("h") / "m.safetensors"
    nio.save({"meta": meta, "w": nabla.ones(1)}, path)
    out = nio.load(path)
    assert out["meta"] == meta and repr(out["meta"]) == repr(meta)  # repr also checks list vs tuple, int vs float


def test_saving_a_tensor_that_requires_grad_and_loaded_tensors_are_plain_copies(tmp_path):
    w = nabla.randn(4, 4, requires_grad=True)
    (w * 2).sum().backward()
    path = tmp_path / "w.safetensors"
    nio.save({"w": w}, path)
    a = nio.load(path)["w"]
    assert not a.requires_grad and a.grad is None
    assert _same_bits(a.numpy(), w.detach().numpy())
    # independent copies: writable, and neither the file nor a second load sees changes
    a[0, 0] = 123.0
    b = nio.load(path)["w"]
    assert b[0, 0].item() == w[0, 0].item()
    nio.save({"w": nabla.zeros(4, 4)}, path)  # rewrite the file underneath
    assert b.numpy()[1, 1] == w.detach().numpy()[1, 1]


def test_empty_state_dict(tmp_path):
    nio.save({}, tmp_path / "e.safetensors")
    assert nio.load(tmp_path / "e.safetensors") == {}


# ------------------------------------------------------------------------------------------ PyTorch interop


def _torch_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def _nabla_mlp_forward(sd, x):
    h = nabla.relu(x @ sd["0.weight"].T + sd["0.bias"])
    return h @ sd["2.weight"].T + sd["2.bias"]


def test_torch_file_loads_into_nabla_and_gives_the_same_outputs(tmp_path):
    model = _torch_mlp()
    path = tmp_path / "torch_model.safetensors"
    safetensors.torch.save_file(model.state_dict(), str(path))
    sd = nio.load(path)
    assert set(sd) == set(model.state_dict())
    assert all(isinstance(t, nabla.Tensor) for t in sd.values())
    for k, v in model.state_dict().items():
        assert _same_bits(sd[k].numpy(), v.numpy()), k
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_nabla_mlp_forward(sd, nabla.tensor(x)).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_nabla_file_loads_into_the_same_torch_model(tmp_path):
    model = _torch_mlp()
    rng = np.random.default_rng(2)
    sd = {k: nabla.tensor(rng.standard_normal(tuple(v.shape)).astype(np.float32))
          for k, v in model.state_dict().items()}
    path = tmp_path / "nabla_model.safetensors"
    nio.save(sd, path)

    loaded = safetensors.torch.load_file(str(path))
    assert set(loaded) == set(sd)
    model.load_state_dict(loaded, strict=True)
    for k, v in model.state_dict().items():
        assert _same_bits(v.numpy(), sd[k].numpy()), k
    x = rng.standard_normal((6, 5)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_nabla_mlp_forward(sd, nabla.tensor(x)).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_every_dtype_matches_torch_both_ways(tmp_path):
    rng = np.random.default_rng(3)
    arrays = {d: _random_array(d, (3, 4), rng) for d in ALL_DTYPES}
    arrays.update(scalar=np.array(2.5, np.float32), empty=np.zeros((0, 2), np.int64))
    nio.save({d: nabla.tensor(a) for d, a in arrays.items()}, tmp_path / "n.safetensors")
    from_torch = safetensors.torch.load_file(str(tmp_path / "n.safetensors"))
    for d, a in arrays.items():
        assert _same_bits(from_torch[d].numpy(), a), d
    safetensors.torch.save_file({d: torch.from_numpy(a) for d, a in arrays.items()}, str(tmp_path / "t.safetensors"))
    back = nio.load(tmp_path / "t.safetensors")
    for d, a in arrays.items():
        assert _same_bits(back[d].numpy(), a), d


def test_bfloat16_from_torch_loads_as_float32_exactly_with_a_warning(tmp_path):
    t = torch.randn(4, 3).to(torch.bfloat16)
    t[0, 0], t[0, 1], t[0, 2] = float("inf"), float("-inf"), -0.0
    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"w": t, "b": torch.ones(2)}, str(path))
    with pytest.warns(UserWarning, match=r"bfloat16 .*'w'.* float32"):
        out = nio.load(path)
    assert out["w"].dtype == nabla.float32 and out["b"].dtype == nabla.float32
    assert _same_bits(out["w"].numpy(), t.float().numpy())


# ------------------------------------------------------------------------------------------ atomic writes


def test_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    nio.save({"w": nabla.ones(100)}, path)
    before = path.read_bytes()

    def crash_half_way(f, data):
        f.write(data[: len(data) // 2])
        raise OSError("simulated crash: disk full")

    monkeypatch.setattr(atomic, "_write_all", crash_half_way)
    with pytest.raises(OSError, match="simulated crash"):
        nio.save({"w": nabla.zeros(100)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # the temporary file was removed
    assert nio.load(path)["w"].numpy().tolist() == [1.0] * 100


def test_interrupt_before_rename_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    nio.save({"w": nabla.ones(3)}, path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        nio.save({"w": nabla.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_write_fsyncs_the_file_and_the_directory_and_renames(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (calls.append(("fsync", fd)), real_fsync(fd))[1])
    monkeypatch.setattr(
        atomic.os, "replace", lambda a, b: (calls.append(("replace", b)), real_replace(a, b))[1]
    )
    path = tmp_path / "w.safetensors"
    nio.save({"w": nabla.ones(2)}, path)
    kinds = [c[0] for c in calls]
    assert kinds[0] == "fsync" and "replace" in kinds
    if os.name == "posix":
        assert kinds == ["fsync", "replace", "fsync"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_overwrite_keeps_permissions_and_new_files_follow_umask(tmp_path):
    path = tmp_path / "w.safetensors"
    nio.save({"w": nabla.ones(2)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o600)
    nio.save({"w": nabla.zeros(2)}, path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_save_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        nio.save({"w": nabla.ones(1)}, tmp_path / "missing_dir" / "w.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        nio.save({"w": nabla.ones(1)}, tmp_path)
    with pytest.raises(TypeError, match="expected a file path"):
        nio.save({"w": nabla.ones(1)}, 3)


# ------------------------------------------------------------------------------------------ what cannot be saved


@pytest.mark.parametrize(
    "obj, where, what",
    [
        ({"state": {0: {"buf": np.ones(3)}}}, r"obj\['state'\]\[0\]\['buf'\]",
         r"numpy\.ndarray.*nabla\.tensor\(array\)"),
        ({"a": [1, object()]}, r"obj\['a'\]\[1\]", r"cannot store object"),
        ({"t": torch.ones(2)}, r"obj\['t'\]", r"torch\.Tensor.*nabla\.tensor\(t\.detach\(\)\.cpu\(\)\.numpy\(\)\)"),
        ({"s": {1, 2}}, r"obj\['s'\]", r"cannot store set"),
        ({"f": len}, r"obj\['f'\]", r"builtin_function_or_method"),
    ],
)
def test_unstorable_values_name_their_type_and_place(tmp_path, obj, where, what):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=what) as err:
        nio.save(obj, path)
    assert str(path) in str(err.value)
    assert re.search(where, str(err.value))
    assert not path.exists() and os.listdir(tmp_path) == []


def test_other_save_refusals(tmp_path):
    p = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"key \(1, 2\) of type tuple"):
        nio.save({(1, 2): nabla.ones(1)}, p)
    with pytest.raises(ValueError, match=r"both be stored under the name 'a\.b'"):
        nio.save({"a.b": nabla.ones(1), "a": {"b": nabla.ones(1)}}, p)
    with pytest.raises(ValueError, match="reserves"):
        nio.save({"__metadata__": nabla.ones(1)}, p)
    loop: dict = {"w": nabla.ones(1)}
    loop["self"] = loop
    with pytest.raises(ValueError, match=r"obj\['self'\] contains itself"):
        nio.save(loop, p)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------------ bad files


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    nio.save({"w": nabla.randn(8, 8), "b": nabla.zeros(8)}, path)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file: .*nope\.safetensors"):
        nio.load(tmp_path / "nope.safetensors")
    with pytest.raises(IsADirectoryError):
        nio.load(tmp_path)


def test_truncated_file(good_file):
    data = good_file.read_bytes()
    good_file.write_bytes(data[:-10])
    with pytest.raises(ValueError, match=r"not a valid safetensors file: .*out of range.*truncated") as err:
        nio.load(good_file)
    assert str(good_file) in str(err.value)
    good_file.write_bytes(data[:50])  # cut inside the header
    with pytest.raises(ValueError, match=r"header length field says \d+ bytes, but only 42 bytes follow"):
        nio.load(good_file)
    for cut in (0, 5):
        good_file.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"only {cut} bytes long"):
            nio.load(good_file)


def test_garbage_and_huge_header_length(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(os.urandom(64) + b"\xff" * 8)
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        nio.load(path)
    path.write_bytes(struct.pack("<Q", 2**63) + b"{}")
    with pytest.raises(ValueError, match=r"header length field says 9223372036854775808 bytes, more than"):
        nio.load(path)
    path.write_bytes(b"just some text, not a checkpoint at all\n" * 3)
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        nio.load(path)


def _raw_file(header: dict, data: bytes = b"") -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize(
    "content, message",
    [
        (struct.pack("<Q", 9) + b"{not json", "header is not valid JSON"),
        (struct.pack("<Q", 2) + b"[]", r"header is not valid JSON|not a JSON object"),
        (_raw_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4), "out of range"),
        (_raw_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8), "should take 12 bytes"),
        (_raw_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8), "do not form a range"),
        (_raw_file({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8), "malformed shape"),
        (_raw_file({"w": {"dtype": "F32"}}), "lacks dtype, shape or data_offsets"),
        (_raw_file({"__metadata__": {"a": 1}}), "__metadata__ is not a mapping of strings"),
        # offsets inside the file but overlapping: safetensors' own validation, re-worded
        (_raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
         "safetensors could not read"),
    ],
)
def test_corrupted_headers_are_clear_value_errors(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        nio.load(path)
    assert str(path) in str(err.value)


def test_unsupported_dtype_names_the_tensor(tmp_path):
    path = tmp_path / "u16.safetensors"
    safetensors.numpy.save_file({"ids": np.arange(4, dtype=np.uint16)}, str(path))
    with pytest.raises(ValueError, match=r"tensor 'ids' has dtype 'U16', which nabla cannot hold"):
        nio.load(path)


def test_corrupted_nabla_structure(tmp_path):
    path = tmp_path / "s.safetensors"
    arrays = {"w": np.ones(2, np.float32)}
    for structure, message in [
        ("{oops", "not valid JSON"),
        (json.dumps({"format_version": 1, "tree": {"tensor": "missing"}}), "does not hold"),
        (json.dumps({"format_version": 1, "tree": {"dict": [["w", {"tensor": "w"}]], "x": 1}}), "unknown node"),
        (json.dumps({"format_version": 1, "tree": {"dict": []}}), "does not mention"),
        (json.dumps({"format_version": 99, "tree": {}}), "newer nabla"),
    ]:
        safetensors.numpy.save_file(arrays, str(path), metadata={"nabla": structure})
        with pytest.raises(ValueError, match=message):
            nio.load(path)


# ------------------------------------------------------------------------------------------ untrusted files


class _Payload:
    """Unpickling this would create the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_renamed_safetensors_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": _Payload(marker)}, protocol=4))
    with pytest.raises(ValueError, match=r"looks like a Python pickle.*never unpickles") as err:
        nio.load(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_torch_save_checkpoint_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    torch.save({"w": torch.ones(2), "evil": _Payload(marker)}, str(path))
    with pytest.raises(ValueError, match=r"zip archive.*torch\.save.*never unpickles"):
        nio.load(path)
    assert not marker.exists()


# ------------------------------------------------------------------------------------------ map_location


def test_map_location_cpu(good_file):
    for loc in (None, "cpu", nabla.device("cpu")):
        assert all(t.device == "cpu" for t in nio.load(good_file, map_location=loc).values())


@pytest.mark.skipif(nabla.cuda_is_available(), reason="checks the error on machines without CUDA")
def test_map_location_cuda_without_cuda_is_a_clear_error(good_file):
    with pytest.raises(RuntimeError, match=r"map_location='cuda'.*CUDA is not available"):
        nio.load(good_file, map_location="cuda")


def test_bad_map_location(good_file):
    with pytest.raises(ValueError, match="bad map_location 'tpu'"):
        nio.load(good_file, map_location="tpu")
    with pytest.raises(TypeError, match="map_location must be"):
        nio.load(good_file, map_location=0)


@pytest.mark.skipif(not nabla.cuda_is_available(), reason="needs CuPy and an NVIDIA GPU")
def test_map_location_cuda_and_saving_from_the_gpu(tmp_path):
    w = nabla.randn(5, 5)
    path = tmp_path / "g.safetensors"
    nio.save({"w": w.to("cuda"), "n": 3}, path)
    out = nio.load(path, map_location="cuda")
    assert out["w"].device == "cuda:0" and out["n"] == 3
    assert _same_bits(out["w"].cpu().numpy(), w.numpy())


def test_header_length_with_pickle_like_first_byte_loads(tmp_path):
    """A header length of 0x0280 starts the file with 0x80 0x02, as a pickle does; it is still safetensors."""
    path = tmp_path / "m.safetensors"
    for pad in range(0, 1500):
        nabla.save({"w": nabla.ones(2), "meta": "x" * pad}, path)
        with open(path, "rb") as f:
            head = f.read(2)
        if head[0] == 0x80 and 2 <= head[1] <= 5:
            break
    else:
        pytest.skip("could not construct a pickle-like header length")
    assert nabla.load(path)["meta"] == "x" * pad
