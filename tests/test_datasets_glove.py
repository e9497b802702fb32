"""GloVe's word vectors: read from the text file or from inside glove.6B.zip; offline, one line that says where to
get them."""

import zipfile

import numpy as np
import pytest

from datasets import DataError, DataNotFoundError, glove


def write_glove(path, words, dimension=4):
    rng = np.random.default_rng(0)
    vectors = {word: np.round(rng.normal(size=dimension), 5).astype("float32") for word in words}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{w} " + " ".join(f"{v:.5f}" for v in vec) + "\n" for w, vec in vectors.items()))
    return vectors


def test_the_text_file_is_read_word_by_word(tmp_path):
    expected = write_glove(tmp_path / "data" / "glove" / "glove.6B.100d.txt", ["the", "cat", ","], dimension=100)
    vectors = glove.load_glove(tmp_path / "data")
    assert set(vectors) == {"the", "cat", ","}
    np.testing.assert_allclose(vectors["cat"], expected["cat"], atol=1e-6)
    assert vectors["the"].dtype == np.float32 and vectors["the"].shape == (100,)


def test_only_the_words_asked_for_are_kept(tmp_path):
    write_glove(tmp_path / "glove.6B.100d.txt", ["a", "b", "c"], dimension=100)
    assert set(glove.load_glove(tmp_path, words={"b", "z"})) == {"b"}


def test_the_vectors_are_read_from_inside_the_zip(tmp_path):
    expected = write_glove(tmp_path / "made" / "glove.6B.100d.txt", ["dog", "movie"], dimension=100)
    with zipfile.ZipFile(tmp_path / "glove.6B.zip", "w") as archive:
        archive.write(tmp_path / "made" / "glove.6B.100d.txt", "glove.6B.100d.txt")
    vectors = glove.load_glove(tmp_path)
    np.testing.assert_allclose(vectors["movie"], expected["movie"], atol=1e-6)


def test_a_line_of_another_dimension_is_one_clear_error(tmp_path):
    (tmp_path / "glove.6B.100d.txt").write_text("the 0.1 0.2 0.3\n")
    with pytest.raises(DataError, match="line 1: 3 numbers, expected 100"):
        glove.load_glove(tmp_path)


def test_the_embedding_matrix_has_a_row_per_word_index_and_zeros_for_unknown_words():
    vectors = {"cat": np.array([1, 2], "float32"), "mat": np.array([3, 4], "float32")}
    matrix = glove.embedding_matrix(["", "[UNK]", "cat", "zebra", "mat"], vectors, 2)
    np.testing.assert_array_equal(matrix, [[0, 0], [0, 0], [1, 2], [0, 0], [3, 4]])
    assert glove.embedding_matrix(["", "cat"], vectors, 2, rows=4).tolist() == [[0, 0], [1, 2], [0, 0], [0, 0]]


def test_offline_without_glove_the_message_names_the_file_its_size_and_where_to_put_it(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        glove.load_glove()
    message = str(error.value)
    assert "\n" not in message
    for part in ("glove.6B.zip", "822 MB", "https://nlp.stanford.edu/data/glove.6B.zip", "glove.6B.100d.txt",
                 "<data dir>/glove/"):
        assert part in message


def test_a_byte_that_is_not_utf8_names_the_file_and_its_line(tmp_path):
    path = tmp_path / "glove.6B.100d.txt"
    write_glove(path, [f"w{i}" for i in range(8)], dimension=100)
    lines = path.read_bytes().split(b"\n")
    lines[4] = b"caf\xe9" + lines[4][2:]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=r"glove.6B.100d.txt, line 5: not UTF-8 text"):
        glove.load_glove(tmp_path)


def test_a_zip_cut_short_is_not_read_as_text(tmp_path):
    write_glove(tmp_path / "made" / "glove.6B.100d.txt", [f"w{i}" for i in range(300)], dimension=100)
    with zipfile.ZipFile(tmp_path / "whole.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(tmp_path / "made" / "glove.6B.100d.txt", "glove.6B.100d.txt")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "glove.6B.zip").write_bytes((tmp_path / "whole.zip").read_bytes()[:20_000])
    with pytest.raises(DataError, match=r"glove.6B.zip: not a complete zip archive \(a download cut short\?\)"):
        glove.load_glove(tmp_path / "data")
