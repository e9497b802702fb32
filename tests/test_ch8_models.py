"""Chapter 8 (8.1, 8.2, 8.4, 8.5): the models layer by layer, the recipes, and the maths of each section.

Small synthetic inputs only; untrained networks.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from chapters.ch8_generative import deep_dream as dd
from chapters.ch8_generative import generative_adversarial_network as gan_section
from chapters.ch8_generative import text_generation as tg
from chapters.ch8_generative import variational_autoencoder as vae_section
from models import deep_dream, gan, text_generation, vae
from tests.helpers import layer_params

# ---------------------------------------------------------------------------
# 8.1 Text generation
# ---------------------------------------------------------------------------


def test_the_character_lstm_has_the_books_95_232_and_7_353_parameters():
    model = text_generation.character_lstm_1st_edition()
    assert layer_params(model) == text_generation.CHARACTER_LSTM_BOOK_PARAMS == [95_232, 7_353]
    assert model.input_shape == (None, 60, 57) and model.output_shape == (None, 57)
    assert model.layers[0].units == 128


def test_the_transformer_generator_has_the_books_parameters_per_layer():
    model = text_generation.transformer_text_generator_2nd_edition()
    assert layer_params(model) == text_generation.TRANSFORMER_GENERATOR_BOOK_PARAMS == [0, 3_865_600, 2_104_576,
                                                                                        3_855_000]
    decoder = model.layers[2]
    assert (decoder.embed_dim, decoder.dense_dim, decoder.num_heads) == (256, 2_048, 2)


def test_the_transformer_generator_never_sees_the_tokens_after_a_position():
    keras.utils.set_random_seed(0)
    model = text_generation.transformer_text_generator_2nd_edition(sequence_length=20, vocab_size=50, embed_dim=8,
                                                                   latent_dim=16, num_heads=2)
    tokens = np.random.default_rng(0).integers(1, 50, (2, 12))
    changed = tokens.copy()
    changed[:, 7] = changed[:, 7] % 49 + 1
    before, after = model.predict(tokens, verbose=0), model.predict(changed, verbose=0)
    np.testing.assert_allclose(before[:, :7], after[:, :7], atol=1e-6)
    assert np.abs(before[:, 7:] - after[:, 7:]).max() > 1e-4


def test_the_first_edition_recipe_is_60_characters_every_3_rmsprop_0_01_batch_128_60_epochs():
    assert (tg.MAXLEN, tg.STEP, tg.LEARNING_RATE, tg.BATCH_SIZE, tg.EPOCHS) == (60, 3, 0.01, 128, 60)
    assert tg.TEMPERATURES == (0.2, 0.5, 1.0, 1.2) and tg.GENERATED_CHARACTERS == 400
    assert (tg.BOOK_CORPUS_LENGTH, tg.BOOK_SEQUENCES, tg.BOOK_UNIQUE_CHARACTERS) == (600_893, 200_278, 57)
    assert len(tg.BOOK_LOSSES) == 59 and min(tg.BOOK_LOSSES) == 1.3014 and int(np.argmin(tg.BOOK_LOSSES)) == 53
    assert (tg.QUICK_CHARACTERS, tg.QUICK_GENERATED_CHARACTERS) == (6_000, 40)


def test_the_second_edition_recipe_is_100_tokens_15000_words_batch_256_200_epochs():
    assert (tg.SEQUENCE_LENGTH, tg.VOCAB_SIZE, tg.EMBED_DIM, tg.LATENT_DIM, tg.NUM_HEADS) == (100, 15_000, 256,
                                                                                              2_048, 2)
    assert (tg.TEXT_BATCH_SIZE, tg.EPOCHS_2ND_EDITION, tg.PROMPT, tg.GENERATE_LENGTH) == (256, 200, "This movie", 50)
    assert tg.TEMPERATURES_2ND_EDITION == (0.2, 0.5, 0.7, 1.0, 1.5) and tg.BOOK_REVIEWS == 100_000
    assert (tg.QUICK_TEXT_BATCHES, tg.QUICK_GENERATE_LENGTH) == (2, 5)


def test_vectorisation_puts_each_character_and_the_next_one_at_their_exact_positions():
    text = "abcabdcab!"
    sequences = tg.CharacterSequences(text, sorted(set(text)), maxlen=3, step=2)
    assert sequences.vocabulary == ["!", "a", "b", "c", "d"]
    assert sequences.starts.tolist() == [0, 2, 4, 6]  # range(0, 10 - 3, 2)
    x, y = sequences.one_hot()
    assert x.shape == (4, 3, 5) and y.shape == (4, 5) and x.dtype == bool
    expected_x = np.zeros((4, 3, 5), bool)
    for sample, window in enumerate(["abc", "cab", "bdc", "cab"]):
        for t, char in enumerate(window):
            expected_x[sample, t, "!abcd".index(char)] = True
    expected_y = np.zeros((4, 5), bool)
    for sample, char in enumerate("ada!"):
        expected_y[sample, "!abcd".index(char)] = True
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)


def test_the_pipeline_gives_the_same_one_hot_batches_without_building_them_all():
    text = "the quick brown fox jumps over the lazy dog. " * 3
    sequences = tg.CharacterSequences(text, sorted(set(text)), maxlen=7, step=3)
    x, y = sequences.one_hot()
    batches = list(sequences.dataset(batch_size=5, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x.astype("float32"))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y.astype("float32"))
    assert len(sequences) == len(range(0, len(text) - 7, 3))


def test_a_temperature_near_zero_picks_the_most_likely_character():
    preds = np.array([0.1, 0.5, 0.15, 0.25])
    rng = np.random.default_rng(0)
    assert {tg.sample(preds, 1e-3, rng) for _ in range(50)} == {1}
    np.testing.assert_allclose(tg.reweight_distribution(preds, 1.0), preds)


def test_higher_temperatures_raise_the_entropy():
    preds = np.array([0.02, 0.6, 0.08, 0.3])

    def entropy(p):
        return float(-(p * np.log(p)).sum())

    entropies = [entropy(tg.reweight_distribution(preds, t)) for t in (0.2, 0.5, 1.0, 1.2)]
    assert entropies == sorted(entropies) and entropies[0] < entropies[-1] - 0.3
    assert entropies[2] == pytest.approx(entropy(preds))


def test_sampled_characters_follow_the_reweighted_distribution():
    preds = np.array([0.2, 0.3, 0.5])
    rng = np.random.default_rng(1)
    draws = np.bincount([tg.sample(preds, 0.5, rng) for _ in range(4000)], minlength=3) / 4000
    np.testing.assert_allclose(draws, tg.reweight_distribution(preds, 0.5), atol=0.03)


def test_each_temperature_continues_the_text_the_one_before_wrote_as_in_the_book():
    vocabulary = list("abcdefgh")
    sequences = tg.CharacterSequences("abcdefghabcdefgh", vocabulary, maxlen=4, step=1)

    def next_letter(one_hot):  # a "model" sure that the letter after the window's last one comes next
        last = np.argmax(np.asarray(one_hot)[:, -1, :], axis=-1)
        return tf.one_hot((last + 1) % len(vocabulary), len(vocabulary), on_value=1.0, off_value=1e-12)

    written = tg.generate_characters(next_letter, sequences, "abcd", (0.2, 1.0), 3, np.random.default_rng(0))
    # the book never resets generated_text: 1.0 starts from the last 4 characters 0.2 left, not from the seed
    assert written == [("abcd", "efg"), ("defg", "hab")]


def test_the_second_edition_samples_at_each_temperature_not_all_at_1_as_the_book(monkeypatch):
    vectorizer = keras.layers.TextVectorization(output_mode="int", output_sequence_length=6)
    vectorizer.adapt(["this movie is a good one"])
    writer = tg.GeneratedWords(None, vectorizer, "this movie", (0.2, 1.5), 2)
    vocabulary = vectorizer.vocabulary_size()
    writer.set_model(lambda tokens, training=False: tf.fill((1, 6, vocabulary), 1.0 / vocabulary))
    temperatures = []
    real_sample = tg.sample
    monkeypatch.setattr(tg, "sample", lambda preds, t, rng: temperatures.append(t) or real_sample(preds, t, rng))
    rng = np.random.default_rng(0)
    for temperature in (0.2, 1.5):
        writer.continue_prompt(temperature, rng)
    assert temperatures == [0.2, 0.2, 1.5, 1.5]  # deliberately not the book's sample_next(predictions) at 1.0


# ---------------------------------------------------------------------------
# 8.2 DeepDream
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inception():
    keras.backend.clear_session()  # the table names layers as a fresh session does
    return deep_dream.inception_v3_without_top("random")


def test_inception_v3_matches_its_table_layer_by_layer_and_the_books_total(inception):
    params = deep_dream.inception_v3_book_params(inception)
    assert layer_params(inception) == params
    assert sum(params) == deep_dream.INCEPTION_V3_NOTOP_BOOK_TOTAL == 21_802_784
    assert len(deep_dream.inception_v3_convolutions()) == 94 and len(inception.layers) == 311


def test_a_wrong_inception_table_fails_the_check(inception, monkeypatch):
    original = deep_dream.inception_v3_convolutions()
    # one 5x5 convolution of mixed0 written as 3x3: the per-layer list must differ
    monkeypatch.setattr(deep_dream, "inception_v3_convolutions",
                        lambda: [c if i != 7 else (c[0], c[1], 3, 3) for i, c in enumerate(original)])
    assert layer_params(inception) != deep_dream.inception_v3_book_params(inception)


def test_octave_shapes_are_the_books():
    assert dd.octave_shapes((350, 350), 3, 1.4) == [(178, 178), (250, 250), (350, 350)]
    assert dd.octave_shapes((900, 1200), 3, 1.4) == [(459, 612), (642, 857), (900, 1200)]


def test_the_first_edition_dreams_with_mixed2_to_5_step_0_01_20_iterations_max_loss_10():
    recipe = dd.RECIPES[1]
    assert recipe.layer_contributions == {"mixed2": 0.2, "mixed3": 3.0, "mixed4": 2.0, "mixed5": 1.5}
    assert (recipe.step, recipe.num_octave, recipe.octave_scale, recipe.iterations, recipe.max_loss) == (
        0.01, 3, 1.4, 20, 10.0)
    assert (recipe.dream_loss, recipe.normalize_gradients, recipe.gradient_ascent) == (
        dd.dream_loss_1st_edition, dd.normalize_gradients_1st_edition, dd.gradient_ascent_1st_edition)


def test_the_second_edition_dreams_with_mixed4_to_7_step_20_30_iterations_max_loss_15():
    recipe = dd.RECIPES[2]
    assert recipe.layer_contributions == {"mixed4": 1.0, "mixed5": 1.5, "mixed6": 2.0, "mixed7": 2.5}
    assert (recipe.step, recipe.num_octave, recipe.octave_scale, recipe.iterations, recipe.max_loss) == (
        20.0, 3, 1.4, 30, 15.0)
    assert (recipe.dream_loss, recipe.normalize_gradients, recipe.gradient_ascent) == (
        dd.dream_loss_2nd_edition, dd.normalize_gradients_2nd_edition, dd.gradient_ascent_2nd_edition)
    assert (dd.QUICK_HEIGHT, dd.QUICK_ITERATIONS, dd.MIN_OCTAVE_SIDE) == (160, 2, 75)


def test_the_dream_losses_match_numpy():
    rng = np.random.default_rng(0)
    features = {"a": rng.normal(size=(1, 9, 8, 3)).astype("float32"), "b": rng.normal(size=(1, 7, 6, 2))
                .astype("float32")}
    weights = {"a": 0.5, "b": 2.0}
    first = sum(w * np.sum(features[n][:, 2:-2, 2:-2, :] ** 2) / features[n].size for n, w in weights.items())
    second = sum(w * np.mean(features[n][:, 2:-2, 2:-2, :] ** 2) for n, w in weights.items())
    assert float(dd.dream_loss_1st_edition(features, weights)) == pytest.approx(first, rel=1e-5)
    assert float(dd.dream_loss_2nd_edition(features, weights)) == pytest.approx(second, rel=1e-5)


def test_gradients_are_normalised_by_mean_absolute_value_then_by_l2_norm():
    gradients = tf.constant(np.random.default_rng(1).normal(size=(1, 5, 4, 3)), tf.float32)
    assert float(tf.reduce_mean(tf.abs(dd.normalize_gradients_1st_edition(gradients)))) == pytest.approx(1.0)
    assert float(tf.norm(dd.normalize_gradients_2nd_edition(gradients))) == pytest.approx(1.0)


def rising_loss(losses):
    calls = iter(losses)
    return lambda image: (tf.constant(next(calls)), tf.ones_like(image))


def test_the_first_edition_stops_before_a_step_above_max_loss_and_the_second_after_it():
    image = np.zeros((1, 2, 2, 3), "float32")
    first, first_losses = dd.gradient_ascent_1st_edition(rising_loss([1.0, 5.0, 11.0, 12.0]), image, 10, 0.5, 10.0)
    assert first_losses == [1.0, 5.0] and float(np.asarray(first).max()) == 1.0  # two steps of 0.5
    second, second_losses = dd.gradient_ascent_2nd_edition(rising_loss([1.0, 5.0, 16.0, 17.0]), image, 10, 0.5, 15.0)
    assert second_losses == [1.0, 5.0, 16.0] and float(np.asarray(second).max()) == 1.5  # the third step is taken


def test_lost_detail_is_what_shrinking_lost_at_the_octave_size():
    original = np.random.default_rng(2).normal(size=(1, 20, 30, 3)).astype("float32")
    shapes = dd.octave_shapes((20, 30), 2, 1.4)
    assert dd.lost_detail(original, shapes, 0) == 0.0
    detail = dd.lost_detail(original, shapes, 1)
    upscaled = tf.image.resize(tf.image.resize(original, shapes[0]), shapes[1]).numpy()
    np.testing.assert_allclose(upscaled + detail, original, atol=1e-5)  # the top octave gets the photo back


# ---------------------------------------------------------------------------
# 8.4 Variational autoencoder
# ---------------------------------------------------------------------------

def test_the_first_edition_vae_has_the_books_encoder_and_decoder_layers():
    encoder, decoder = vae.vae_encoder_1st_edition(), vae.vae_decoder_1st_edition()
    assert layer_params(encoder) == vae.VAE_ENCODER_1ST_EDITION_BOOK_PARAMS == [0, 320, 18_496, 36_928, 36_928, 0,
                                                                                401_440, 66, 66]
    assert layer_params(decoder) == vae.VAE_DECODER_1ST_EDITION_BOOK_PARAMS == [0, 37_632, 0, 18_464, 289]
    assert encoder.count_params() + decoder.count_params() == 550_629
    assert encoder.output_shape == [(None, 2), (None, 2)] and decoder.output_shape == (None, 28, 28, 1)


def test_the_second_edition_vae_has_69_076_and_65_089_parameters():
    encoder, decoder = vae.vae_encoder_2nd_edition(), vae.vae_decoder_2nd_edition()
    assert layer_params(encoder) == vae.VAE_ENCODER_2ND_EDITION_BOOK_PARAMS == [0, 320, 18_496, 0, 50_192, 34, 34]
    assert layer_params(decoder) == vae.VAE_DECODER_2ND_EDITION_BOOK_PARAMS == [0, 9_408, 0, 36_928, 18_464, 289]
    assert (encoder.count_params(), decoder.count_params()) == (69_076, 65_089)


def numpy_bce(target, output):
    output = np.clip(output, 1e-7, 1 - 1e-7)
    return -(target * np.log(output) + (1 - target) * np.log(1 - output))


def tiny_vae_batch():
    rng = np.random.default_rng(3)
    images = rng.uniform(size=(3, 28, 28, 1)).astype("float32")
    decoded = rng.uniform(0.01, 0.99, size=(3, 28, 28, 1)).astype("float32")
    z_mean, z_log_var = rng.normal(size=(2, 3, 2)).astype("float32")
    return images, decoded, z_mean, z_log_var


def test_the_first_edition_loss_is_mean_pixel_crossentropy_plus_5e_4_kl():
    images, decoded, z_mean, z_log_var = tiny_vae_batch()
    reconstruction = numpy_bce(images, decoded).reshape(3, -1).mean(axis=1)
    kl = -5e-4 * np.mean(1 + z_log_var - z_mean ** 2 - np.exp(z_log_var), axis=-1)
    losses = vae.vae_loss_1st_edition(images, decoded, z_mean, z_log_var)
    assert float(losses["loss"]) == pytest.approx(np.mean(reconstruction + kl), rel=1e-5)
    assert float(losses["kl_loss"]) == pytest.approx(kl.mean(), rel=1e-5)
    assert vae.KL_WEIGHT_1ST_EDITION == 5e-4


def test_the_second_edition_loss_is_summed_pixel_crossentropy_plus_kl_averaged_over_batch_and_latent_dims():
    images, decoded, z_mean, z_log_var = tiny_vae_batch()
    reconstruction = numpy_bce(images, decoded).sum(axis=(1, 2, 3)).mean()
    # the book's train_step: tf.reduce_mean(kl_loss) over the (batch, latent_dim) tensor, not a sum over latent dims
    kl = (-0.5 * (1 + z_log_var - z_mean ** 2 - np.exp(z_log_var))).mean()
    losses = vae.vae_loss_2nd_edition(images, decoded, z_mean, z_log_var)
    assert float(losses["kl_loss"]) == pytest.approx(kl, rel=1e-5)
    assert float(losses["loss"]) == pytest.approx(reconstruction + kl, rel=1e-5)
    assert float(losses["reconstruction_loss"]) == pytest.approx(reconstruction, rel=1e-5)


def test_the_first_edition_draws_with_exp_of_the_log_variance_the_second_with_its_half():
    z_mean = tf.zeros((20_000, 2))
    z_log_var = tf.fill((20_000, 2), float(np.log(4.0)))
    seed = keras.random.SeedGenerator(0)
    first = np.asarray(vae.sample_latent_1st_edition(z_mean, z_log_var, seed))
    second = np.asarray(vae.sample_latent_2nd_edition(z_mean, z_log_var, seed))
    assert first.std() == pytest.approx(4.0, rel=0.03) and second.std() == pytest.approx(2.0, rel=0.03)


def test_a_few_training_steps_lower_the_vae_loss():
    keras.utils.set_random_seed(0)
    model = vae.VariationalAutoencoder(vae.vae_encoder_2nd_edition(), vae.vae_decoder_2nd_edition(),
                                       vae.sample_latent_2nd_edition, vae.vae_loss_2nd_edition, seed=0)
    model.compile(optimizer=keras.optimizers.Adam())
    images = (np.random.default_rng(4).uniform(size=(16, 28, 28, 1)) > 0.7).astype("float32")
    losses = []
    for _ in range(8):  # eagerly: no graph to trace for a few steps
        losses.append(float(model.losses_of(images)["loss"]))
        model.train_step(tf.constant(images))
    assert losses[-1] < losses[0] * 0.99 and losses[-1] == min(losses)


def test_the_vae_recipes_are_rmsprop_10_epochs_of_16_and_adam_30_epochs_of_128():
    first, second = vae_section.RECIPES[1], vae_section.RECIPES[2]
    assert (first.epochs, first.batch_size, second.epochs, second.batch_size) == (10, 16, 30, 128)
    rmsprop, adam = first.optimizer(), second.optimizer()
    assert isinstance(rmsprop, keras.optimizers.RMSprop) and float(rmsprop.learning_rate) == pytest.approx(1e-3)
    assert isinstance(adam, keras.optimizers.Adam) and float(adam.learning_rate) == pytest.approx(1e-3)
    assert (first.sample_latent, first.vae_loss) == (vae.sample_latent_1st_edition, vae.vae_loss_1st_edition)
    assert (second.sample_latent, second.vae_loss) == (vae.sample_latent_2nd_edition, vae.vae_loss_2nd_edition)
    assert (first.book_validation_loss, first.book_final_loss) == (0.1801, 0.1794)


def test_the_first_edition_validates_on_the_test_digits_the_second_trains_on_all_70_000():
    from datasets.mnist import Mnist

    mnist = Mnist(np.zeros((6, 28, 28), np.uint8), np.arange(6), np.ones((4, 28, 28), np.uint8), np.arange(4), "", True)
    images, labels, validation = vae_section.RECIPES[1].training_digits(mnist)
    assert len(images) == 6 and validation is mnist.test_images
    images, labels, validation = vae_section.RECIPES[2].training_digits(mnist)
    assert len(images) == len(labels) == 10 and validation is None


def test_the_latent_grids_are_15_quantiles_and_30_points_over_minus_one_to_one():
    columns, rows = vae_section.RECIPES[1].latent_grid()
    from scipy.stats import norm
    np.testing.assert_allclose(columns, norm.ppf(np.linspace(0.05, 0.95, 15)))
    np.testing.assert_allclose(rows, columns)
    columns, rows = vae_section.RECIPES[2].latent_grid()
    np.testing.assert_allclose(columns, np.linspace(-1, 1, 30))
    np.testing.assert_allclose(rows, np.linspace(1, -1, 30))  # the top row has the largest y


def test_the_decoded_grid_puts_each_point_in_its_cell():
    class Echo:  # a "decoder" that paints the point's coordinates into its digit
        def predict(self, points, **kwargs):
            return np.broadcast_to(points[:, :1, None, None] * 10 + points[:, 1:, None, None], (len(points), 28,
                                                                                              28, 1)).copy()

    figure = vae_section.decode_grid(Echo(), np.array([1.0, 2.0, 3.0]), np.array([5.0, 6.0]))
    assert figure.shape == (2 * 28, 3 * 28)
    assert figure[0, 0] == 15 and figure[0, 2 * 28] == 35 and figure[28, 28] == 26


# ---------------------------------------------------------------------------
# 8.5 GAN
# ---------------------------------------------------------------------------

def test_the_gan_has_the_books_generator_and_discriminator_layers():
    generator, discriminator = gan.gan_generator_1st_edition(), gan.gan_discriminator_1st_edition()
    assert layer_params(generator) == gan.GAN_GENERATOR_1ST_EDITION_BOOK_PARAMS
    assert layer_params(discriminator) == gan.GAN_DISCRIMINATOR_1ST_EDITION_BOOK_PARAMS
    assert (generator.count_params(), discriminator.count_params()) == (6_264_579, 790_913)
    assert generator.input_shape == (None, 32) and generator.output_shape == (None, 32, 32, 3)
    assert discriminator.layers[-2].rate == 0.4 and generator.layers[2].negative_slope == pytest.approx(0.3)


def test_the_mnist_gan_is_the_same_recipe_on_28x28x1():
    generator = gan.gan_generator_1st_edition(32, 28, 28, 1)
    discriminator = gan.gan_discriminator_1st_edition(28, 28, 1)
    assert layer_params(generator) == gan.GAN_GENERATOR_MNIST_PARAMS
    assert layer_params(discriminator) == gan.GAN_DISCRIMINATOR_MNIST_PARAMS
    assert generator.output_shape == (None, 28, 28, 1)


def test_the_gan_recipe_is_10_000_steps_of_20_latent_32_label_noise_0_05():
    assert (gan_section.STEPS, gan_section.BATCH_SIZE, gan_section.STEPS_PER_REPORT) == (10_000, 20, 100)
    assert (gan.LATENT_DIM_1ST_EDITION, gan.LABEL_NOISE_1ST_EDITION, gan_section.FROG) == (32, 0.05, 6)
    assert (gan_section.MEASURED_DIGITS, gan_section.CONFIDENT) == (1_000, 0.9)
    assert (gan_section.QUICK_IMAGES, gan_section.QUICK_MEASURED_DIGITS) == (200, 100)


@pytest.mark.parametrize("build, learning_rate", [(gan.discriminator_optimizer_1st_edition, 0.0008),
                                                  (gan.gan_optimizer_1st_edition, 0.0004)])
def test_both_optimizers_are_rmsprop_clipped_at_1_with_keras_2_decay_1e_8(build, learning_rate):
    optimizer = build()
    assert isinstance(optimizer, keras.optimizers.RMSprop) and optimizer.clipvalue == 1.0
    schedule = optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(learning_rate)
    assert float(schedule(10_000)) == pytest.approx(learning_rate / (1 + 1e-8 * 10_000))


@pytest.fixture(scope="module")
def small_gan():
    keras.utils.set_random_seed(0)
    model = gan.GAN(gan.gan_generator_1st_edition(32, 28, 28, 1), gan.gan_discriminator_1st_edition(28, 28, 1),
                    seed=0)
    model.compile(gan.discriminator_optimizer_1st_edition(), gan.gan_optimizer_1st_edition())
    return model


def copies(weights):
    return [np.array(w) for w in weights]


def changed(before, after):
    return any(not np.array_equal(a, np.asarray(b)) for a, b in zip(before, after))


def test_the_discriminator_learns_in_its_step_and_the_generator_does_not(small_gan):
    real = np.random.default_rng(5).uniform(size=(4, 28, 28, 1)).astype("float32")
    generator, discriminator = copies(small_gan.generator.weights), copies(small_gan.discriminator.weights)
    small_gan.discriminator_step(tf.constant(real))
    assert changed(discriminator, small_gan.discriminator.weights)
    assert not changed(generator, small_gan.generator.weights)


def test_the_generator_learns_in_its_step_and_the_discriminator_does_not(small_gan):
    generator, discriminator = copies(small_gan.generator.weights), copies(small_gan.discriminator.weights)
    small_gan.generator_step(4)
    assert changed(generator, small_gan.generator.weights)
    assert not changed(discriminator, small_gan.discriminator.weights)


def test_the_saved_weights_carry_both_optimizers_states(small_gan, tmp_path):
    small_gan.discriminator_step(tf.zeros((2, 28, 28, 1)))
    small_gan.generator_step(2)
    small_gan.save_weights(tmp_path / "gan.weights.h5")
    restored = gan.GAN(gan.gan_generator_1st_edition(32, 28, 28, 1), gan.gan_discriminator_1st_edition(28, 28, 1))
    restored.compile(gan.discriminator_optimizer_1st_edition(), gan.gan_optimizer_1st_edition())
    restored.load_weights(tmp_path / "gan.weights.h5")
    assert int(restored.optimizer.iterations) == int(small_gan.optimizer.iterations) > 0
    assert int(restored.discriminator_optimizer.iterations) == int(small_gan.discriminator_optimizer.iterations) > 0
    for ours, theirs in zip(small_gan.discriminator_optimizer.variables, restored.discriminator_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_the_discriminators_labels_are_1_for_generated_0_for_real_plus_noise_below_0_05(small_gan, monkeypatch):
    seen = {}
    real_bce = keras.losses.binary_crossentropy

    def spy(labels, predictions):
        seen["labels"] = np.asarray(labels)
        return real_bce(labels, predictions)

    monkeypatch.setattr(keras.losses, "binary_crossentropy", spy)
    small_gan.discriminator_step(tf.zeros((3, 28, 28, 1)))
    labels = seen["labels"][:, 0]
    assert np.all((labels[:3] >= 1) & (labels[:3] < 1.05)) and np.all((labels[3:] >= 0) & (labels[3:] < 0.05))
    small_gan.generator_step(3)
    np.testing.assert_array_equal(seen["labels"], np.zeros((3, 1)))  # the misleading targets: "real"


def test_the_picture_grid_places_25_pictures_and_clips_to_0_1():
    pictures = np.arange(25, dtype="float32")[:, None, None, None] * np.ones((25, 2, 2, 1), "float32") / 24
    pictures[0] = -1.0
    grid = gan_section.picture_grid(pictures, side=5, zoom=1)
    assert grid.shape == (10, 10, 3) and grid.dtype == np.uint8
    assert grid[0, 0, 0] == 0 and grid[0, 2, 0] == round(255 / 24) and grid[9, 9, 0] == 255


def test_the_book_draws_cifar10_frogs_and_our_adaptation_mnist_digits():
    frogs, digits = gan_section.IMAGES["frogs"], gan_section.IMAGES["mnist"]
    assert frogs.shape == (32, 32, 3) and frogs.generator_params == gan.GAN_GENERATOR_1ST_EDITION_BOOK_PARAMS
    assert frogs.discriminator_params == gan.GAN_DISCRIMINATOR_1ST_EDITION_BOOK_PARAMS
    assert digits.shape == (28, 28, 1) and digits.generator_params == gan.GAN_GENERATOR_MNIST_PARAMS
    assert (frogs.load, digits.load) == (gan_section.cifar10_frogs, gan_section.mnist_digits)


def test_the_frogs_are_the_class_6_training_pictures_scaled_to_0_1(monkeypatch):
    from types import SimpleNamespace

    from datasets.cifar10 import Cifar10

    pictures = np.stack([np.full((32, 32, 3), value, np.uint8) for value in (255, 10, 51, 0)])
    fake = Cifar10(pictures, np.array([6, 1, 6, 3], np.uint8), pictures[:1], np.array([6], np.uint8), "synthetic")
    monkeypatch.setattr(gan_section, "load_cifar10", lambda data_dir: fake)
    frogs, _ = gan_section.cifar10_frogs(SimpleNamespace(data_dir=None))
    assert frogs.dtype == np.float32 and frogs.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(frogs[:, 0, 0, 0], [1.0, 0.2])


def activations(model):
    return [layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")]


def test_the_vaes_use_relu_inside_and_a_sigmoid_for_the_pixels():
    assert activations(vae.vae_encoder_1st_edition()) == ["relu"] * 5 + ["linear", "linear"]
    assert activations(vae.vae_decoder_1st_edition()) == ["relu", "relu", "sigmoid"]
    assert activations(vae.vae_encoder_2nd_edition()) == ["relu"] * 3 + ["linear", "linear"]
    decoder = vae.vae_decoder_2nd_edition()
    assert activations(decoder) == ["relu", "relu", "relu", "sigmoid"] and decoder.output_shape == (None, 28, 28, 1)
    strides = [layer.strides for layer in vae.vae_encoder_1st_edition().layers if hasattr(layer, "strides")]
    assert strides == [(1, 1), (2, 2), (1, 1), (1, 1)]


def test_the_gan_ends_in_tanh_pictures_and_a_sigmoid_probability_with_leaky_relus_between():
    generator, discriminator = gan.gan_generator_1st_edition(), gan.gan_discriminator_1st_edition()
    assert activations(generator)[-1] == "tanh" and set(activations(generator)[:-1]) == {"linear"}
    assert activations(discriminator) == ["linear"] * 4 + ["sigmoid"]
    leaky = [layer for model in (generator, discriminator) for layer in model.layers
             if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == 9 and [layer.negative_slope for layer in leaky] == pytest.approx([0.3] * 9)
    kernels = [layer.kernel_size for layer in generator.layers if hasattr(layer, "kernel_size")]
    assert kernels == [(5, 5), (4, 4), (5, 5), (5, 5), (7, 7)]


def test_the_character_lstm_ends_in_a_softmax_over_the_characters():
    assert activations(text_generation.character_lstm_1st_edition()) == ["tanh", "softmax"]


def test_the_2nd_edition_gan_has_the_books_per_layer_counts_and_64x64_faces():
    generator, discriminator = gan.gan_generator_2nd_edition(), gan.gan_discriminator_2nd_edition()
    assert layer_params(generator) == gan.GAN_GENERATOR_2ND_EDITION_BOOK_PARAMS
    assert layer_params(discriminator) == gan.GAN_DISCRIMINATOR_2ND_EDITION_BOOK_PARAMS
    assert (generator.count_params(), discriminator.count_params()) == (3_979_651, 404_801)
    assert generator.output_shape == (None, 64, 64, 3) and discriminator.output_shape == (None, 1)
