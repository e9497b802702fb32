"""2.3 Tensor operations: what the vectorised NumPy calls compute, written as naive loops."""

import time

import numpy as np

from chapters.ch2_building_blocks import CHAPTER


@CHAPTER.section("2.3", "Tensor operations",
                 "relu, addition, broadcasting, dot, reshape: naive loops timed against NumPy")
def tensor_operations(run):
    rng = np.random.default_rng(run.seed)
    size = 100 if run.quick else 300
    x, y = rng.random((size, size)), rng.random((size, size))
    vector = rng.random((size,))
    a, b = rng.random((size // 3, size)), rng.random((size, size // 3))
    comparisons = [
        ("relu", naive_relu, lambda x: np.maximum(x, 0.0), (x - 0.5,)),
        ("add", naive_add, lambda x, y: x + y, (x, y)),
        ("add a vector to each row (broadcasting)", naive_add_matrix_and_vector, lambda x, y: x + y, (x, vector)),
        ("matrix dot", naive_matrix_dot, np.dot, (a, b)),
    ]
    print(f"\nNaive Python loops against NumPy's vectorised operations (on {size}x{size} arrays):")
    timings = {}
    for name, naive, vectorised, arguments in comparisons:
        naive_seconds, naive_result = time_call(naive, *arguments, repeat=1)
        fast_seconds, fast_result = time_call(vectorised, *arguments)
        assert np.allclose(naive_result, fast_result), name  # the same numbers, only faster
        timings[name] = round(naive_seconds / max(fast_seconds, 1e-9))
        print(f"  {name:<42} naive {naive_seconds * 1e3:9.2f} ms   numpy {fast_seconds * 1e3:8.3f} ms   "
              f"{timings[name]:,}x faster")
    run.record("numpy_speedup_over_naive_loops", timings, label="NumPy speed-up over naive loops")

    print("\nBroadcasting: the smaller tensor is repeated along the missing axes.")
    x, y = rng.random((32, 10)), rng.random((10,))
    print(f"  (32, 10) + (10,) -> {(x + y).shape}")
    x, y = rng.random((64, 3, 32, 10)), rng.random((32, 10))
    print(f"  np.maximum((64, 3, 32, 10), (32, 10)) -> {np.maximum(x, y).shape}")

    print("\nTensor dot (np.dot): shapes must agree on the inner axis.")
    for left, right in [((32,), (32,)), ((32, 10), (10,)), ((32, 10), (10, 16))]:
        print(f"  {str(left):<9} . {str(right):<9} -> {np.dot(rng.random(left), rng.random(right)).shape}")

    print("\nReshaping keeps the elements and changes the shape:")
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    print(f"  {x.shape} -> reshape((6, 1)) -> {x.reshape((6, 1)).shape}: {x.reshape((6, 1)).ravel().tolist()}")
    print(f"  {x.shape} -> reshape((2, 3)) -> {x.reshape((2, 3)).tolist()}")
    print(f"  (300, 20) -> transpose -> {np.zeros((300, 20)).T.shape}")


# The naive versions: one element at a time, as the book writes them.

def naive_relu(x):
    """Element-wise max(x, 0), one element at a time (x: 2D)."""
    x = x.copy()
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            x[i, j] = max(x[i, j], 0)
    return x


def naive_add(x, y):
    """Element-wise addition of two 2D tensors of the same shape."""
    x = x.copy()
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            x[i, j] += y[i, j]
    return x


def naive_add_matrix_and_vector(x, y):
    """Broadcasting by hand: add the vector y to every row of the matrix x."""
    x = x.copy()
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            x[i, j] += y[j]
    return x


def naive_vector_dot(x, y):
    z = 0.0
    for i in range(x.shape[0]):
        z += x[i] * y[i]
    return z


def naive_matrix_dot(x, y):
    """Each entry of the product is the dot product of a row of x and a column of y."""
    z = np.zeros((x.shape[0], y.shape[1]))
    for i in range(x.shape[0]):
        for j in range(y.shape[1]):
            z[i, j] = naive_vector_dot(x[i, :], y[:, j])
    return z


def time_call(function, *args, repeat=3):
    """Best of `repeat` wall-clock timings, in seconds."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result
