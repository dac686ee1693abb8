"""StarGAN and GANimation baselines on tiny tensors: shapes, sizes, losses, checkpoints."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason='the GAN baselines need PyTorch: pip install -e ".[gan]"'
)

from pixelfes.baselines import (  # noqa: E402
    GANimationGenerator,
    StarDiscriminator,
    StarGenerator,
    count_parameters,
)
from pixelfes.baselines.checkpoint import load_checkpoint  # noqa: E402
from pixelfes.baselines.losses import (  # noqa: E402
    discriminator_losses,
    generator_losses,
    total_variation,
)
from pixelfes.baselines.pool import DOMAINS  # noqa: E402
from pixelfes.baselines.stargan import tile_labels  # noqa: E402
from pixelfes.baselines.train import TrainConfig, Trainer, lr_scale  # noqa: E402

TINY = {"image_size": 16, "conv_dim": 4, "n_residual": 1, "d_conv_dim": 4, "d_layers": 2}


def tiny_data(n: int = 12, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels = np.arange(n) % 3  # neutral, happy, sad
    return images, labels


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One PyTorch thread for this module, and its OpenMP team never started: later tests
    fork batch workers, and a fork of a process whose OpenMP team ran deadlocks the
    children's face detector (its OpenMP runtime)."""
    torch.set_num_threads(1)


# -- architecture -------------------------------------------------------------------


def test_published_parameter_counts_at_128():
    """The published generators: StarGAN with CelebA's 5 domains 8,430,528 (8.43M), GANimation
    with 17 action units 8,471,296 (~8.5M); the critic with 5 domains at 128x128 44.76M."""
    assert count_parameters(StarGenerator(c_dim=5)) == 8_430_528
    assert count_parameters(GANimationGenerator(c_dim=17)) == 8_471_296
    assert count_parameters(StarDiscriminator(128, c_dim=5)) == 44_762_048
    # Our vocabulary: two more label channels in the first 7x7 convolution (2 * 64 * 49).
    assert count_parameters(StarGenerator(c_dim=len(DOMAINS))) == 8_430_528 + 2 * 64 * 49


@pytest.mark.parametrize("kind", [StarGenerator, GANimationGenerator])
def test_generator_shapes(kind):
    g = kind(c_dim=4, conv_dim=4, n_residual=1)
    x = torch.rand(2, 3, 16, 24) * 2 - 1
    y = g(x, torch.eye(4)[[0, 3]])
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0


def test_ganimation_attention_one_keeps_the_input():
    g = GANimationGenerator(c_dim=3, conv_dim=4, n_residual=1)
    x = torch.rand(2, 3, 8, 8)
    colour, attention = g.masks(x, torch.eye(3)[[0, 1]])
    assert colour.shape == x.shape and attention.shape == (2, 1, 8, 8)
    assert torch.equal(g.compose(x, colour, torch.ones_like(attention)), x)
    assert torch.equal(g.compose(x, colour, torch.zeros_like(attention)), colour)


def test_discriminator_shapes_and_size_check():
    d = StarDiscriminator(image_size=32, c_dim=5, conv_dim=4, n_layers=3)
    scores, logits = d(torch.zeros(3, 3, 32, 32))
    assert scores.shape == (3, 1, 4, 4) and logits.shape == (3, 5)
    with pytest.raises(ValueError, match="divisible"):
        StarDiscriminator(image_size=40, n_layers=4)


def test_labels_become_constant_channels():
    x = torch.zeros(2, 3, 4, 5)
    c = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    tiled = tile_labels(x, c)
    assert tiled.shape == (2, 5, 4, 5)
    assert torch.equal(tiled[0, 3:], torch.stack([torch.zeros(4, 5), torch.ones(4, 5)]))
    assert torch.equal(tiled[1, 3:], torch.stack([torch.ones(4, 5), torch.zeros(4, 5)]))
    with pytest.raises(ValueError, match="labels"):
        tile_labels(x, c[:1])


def test_label_changes_the_output():
    """The generator reads the label: two domains give different outputs for one image."""
    torch.manual_seed(0)
    g = StarGenerator(c_dim=3, conv_dim=4, n_residual=1)
    x = torch.rand(1, 3, 8, 8)
    assert not torch.allclose(g(x, torch.eye(3)[[1]]), g(x, torch.eye(3)[[2]]))


def test_total_variation_reference():
    mask = torch.tensor([[[[0.0, 1.0], [1.0, 3.0]]]])
    # horizontal: (1-0)^2 + (3-1)^2, vertical: (1-0)^2 + (3-1)^2
    assert float(total_variation(mask)) == pytest.approx(10.0)


# -- losses -------------------------------------------------------------------------


def _fixed(model: str):
    torch.manual_seed(0)
    config = TrainConfig(model=model, c_dim=3, batch_size=4, **TINY)
    trainer = Trainer(config, *tiny_data())
    return trainer, trainer.draw(0)


@pytest.mark.parametrize("model", ["stargan", "ganimation"])
@pytest.mark.parametrize("side", ["d", "g"])
def test_one_step_lowers_each_loss_term(model, side):
    """Descending one term alone on a fixed batch lowers that term (and the total)."""
    trainer, (x, label, target, alpha) = _fixed(model)

    def terms(g, d):
        if side == "d":
            return discriminator_losses(g, d, x, label, target, alpha)
        return generator_losses(g, d, x, label, target)

    names = list(terms(trainer.generator, trainer.discriminator))
    if model == "ganimation" and side == "g":
        assert {"mask", "smooth"} <= set(names)
    for name in names:
        g, d = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.discriminator)
        net = d if side == "d" else g
        optimiser = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.5, 0.999))
        before = terms(g, d)[name]
        optimiser.zero_grad()
        before.backward()
        optimiser.step()
        after = terms(g, d)[name].detach()
        assert float(after) < float(before.detach()), f"{model} {side}_{name}: {before} -> {after}"


def test_classification_targets_are_the_drawn_labels():
    """The critic's classifier is trained on the real labels, the generator's on the targets."""
    trainer, (x, label, target, alpha) = _fixed("stargan")
    g, d = trainer.generator, trainer.discriminator
    expected = torch.nn.functional.cross_entropy(d(x)[1], label)
    assert torch.equal(discriminator_losses(g, d, x, label, target, alpha)["cls"], expected)
    fake = g(x, torch.nn.functional.one_hot(target, 3).float())
    expected = torch.nn.functional.cross_entropy(d(fake)[1], target)
    assert torch.allclose(generator_losses(g, d, x, label, target)["cls"], expected)


# -- training schedule and checkpoints ----------------------------------------------


def test_draws_follow_the_labels_and_the_seed():
    images, labels = tiny_data()
    trainer = Trainer(TrainConfig(c_dim=3, batch_size=6, **TINY), images, labels)
    x, label, target, _ = trainer.draw(7)
    # each drawn image carries its own label
    pool = trainer.images.float() / 127.5 - 1
    for xi, li in zip(x, label, strict=True):
        row = np.flatnonzero((pool == xi.permute(1, 2, 0)).all(dim=(1, 2, 3)).numpy())
        assert labels[row[0]] == int(li)
    assert set(target.tolist()) <= {0, 1, 2}
    assert all(
        torch.equal(a, b) for a, b in zip(trainer.draw(7), (x, label, target, _), strict=True)
    )
    assert not torch.equal(trainer.draw(8)[0], x)


def test_generator_updates_every_n_critic():
    trainer, _ = _fixed("stargan")
    logs = [trainer.train_step() for _ in range(5)]
    assert ["g_total" in log for log in logs] == [False] * 4 + [True]


def test_lr_scale_is_constant_then_linear_to_zero():
    """The published schedule: 1 for the first 100k iterations, then linearly to 0 at 200k."""
    assert lr_scale(0, 200_000, 100_000) == 1.0
    assert lr_scale(99_999, 200_000, 100_000) == 1.0
    assert lr_scale(100_000, 200_000, 100_000) == 1.0
    assert lr_scale(150_000, 200_000, 100_000) == 0.5
    assert lr_scale(199_000, 200_000, 100_000) == pytest.approx(0.01)
    assert lr_scale(200_000, 200_000, 100_000) == lr_scale(250_000, 200_000, 100_000) == 0.0
    assert lr_scale(3, 10, 0) == 1.0 and lr_scale(10, 10, 0) == 0.0
    assert TrainConfig().schedule_iterations == 200_000
    assert TrainConfig().decay_iterations == 100_000
    with pytest.raises(ValueError, match="decay_iterations"):
        TrainConfig(schedule_iterations=10, decay_iterations=11)


def test_both_learning_rates_decay_with_the_step():
    """Each iteration runs both optimisers at lr * lr_scale(step); at 0 nothing moves."""
    images, labels = tiny_data()
    config = TrainConfig(
        c_dim=3, batch_size=2, n_critic=1, schedule_iterations=6, decay_iterations=4, **TINY
    )
    config = TrainConfig.from_dict({**config.__dict__, "lr_g": 2e-4, "lr_d": 4e-4})
    trainer = Trainer(config, images, labels)
    for step in range(6):
        trainer.train_step()
        scale = lr_scale(step, 6, 4)
        assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(2e-4 * scale)
        assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(4e-4 * scale)
    assert [lr_scale(k, 6, 4) for k in range(7)] == [1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    trainer.train_step()  # step 6: the schedule is over, learning rate 0
    assert all(
        torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True)
    )


@pytest.mark.parametrize("model", ["stargan", "ganimation"])
@pytest.mark.parametrize("schedule", [(200_000, 100_000), (9, 6)], ids=["constant", "decaying"])
def test_resume_gives_the_same_next_step(model, schedule, tmp_path):
    """Save after 5 iterations, resume in a fresh trainer: iteration 6 matches bit for bit,
    in the constant part of the schedule and in its decay."""
    images, labels = tiny_data()
    config = TrainConfig(
        model=model,
        c_dim=3,
        batch_size=4,
        n_critic=2,
        schedule_iterations=schedule[0],
        decay_iterations=schedule[1],
        **TINY,
    )
    straight = Trainer(config, images, labels)
    for _ in range(5):
        straight.train_step()
    path = tmp_path / "gan.pt"
    straight.save(path)
    expected = straight.train_step()

    resumed = Trainer.resume(path, images, labels)
    assert resumed.step == 5 and resumed.config == config
    got = resumed.train_step()
    assert got == expected
    for a, b in zip(resumed.generator.parameters(), straight.generator.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(
        resumed.discriminator.parameters(), straight.discriminator.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_checkpoint_refuses_foreign_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a pixelfes GAN checkpoint"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_trainer_rejects_bad_input():
    images, labels = tiny_data()
    with pytest.raises(ValueError, match="uint8"):
        Trainer(TrainConfig(c_dim=3, **TINY), images.astype(np.float32), labels)
    with pytest.raises(ValueError, match="labels"):
        Trainer(TrainConfig(c_dim=2, **TINY), images, labels)
    with pytest.raises(ValueError, match="model"):
        TrainConfig(model="cyclegan")


# -- command line and evaluation adapter --------------------------------------------


def test_train_gan_cli_resumes(tmp_path, monkeypatch):
    """train-gan writes a checkpoint, and a second call continues it where it stopped."""
    from dataclasses import dataclass

    from click.testing import CliRunner

    import pixelfes.baselines.pool as pool
    import pixelfes.baselines.train as train
    from pixelfes.cli import main

    @dataclass(frozen=True)
    class TinyConfig(TrainConfig):
        image_size: int = 16
        conv_dim: int = 4
        n_residual: int = 1
        d_conv_dim: int = 4
        d_layers: int = 2

    images, labels = tiny_data()
    seen = {}

    def fake_pool(datasets, targets, **kwargs):
        seen.update(datasets=datasets, targets=targets, **kwargs)
        return pool.LabelledImages(images, labels, ["s"] * len(labels))

    monkeypatch.setattr(pool, "labelled_images", fake_pool)
    monkeypatch.setattr(train, "TrainConfig", TinyConfig)
    path = tmp_path / "run.pt"
    args = ["train-gan", "--model", "ganimation", "-o", str(path), "--batch-size", "2"]
    first = CliRunner().invoke(
        main, [*args, "--iterations", "3", "--data", "london", "--to", "happy"]
    )
    assert first.exit_code == 0, first.output
    assert "3 iterations" in first.output and path.exists()
    assert seen["datasets"] == ["london"] and seen["targets"] == ["happy"]
    second = CliRunner().invoke(main, [*args, "--iterations", "5"])
    assert second.exit_code == 0, second.output
    assert "resuming" in second.output and "at iteration 3" in second.output
    assert seen["datasets"] == ["london"]  # the checkpoint's data, not the defaults
    state = load_checkpoint(path)
    assert state["step"] == 5 and state["config"]["model"] == "ganimation"
    assert state["meta"]["hold_out_dataset"] == "" and state["meta"]["split"] == "train"
    assert state["meta"]["train_subjects"] == ["s"] and state["meta"]["n_images"] == 12

    held = tmp_path / "lodo.pt"
    run = [*args[:3], "-o", str(held), "--batch-size", "2", "--iterations", "1"]
    sets = ["--data", "london", "--data", "ckplus", "--data", "taiwanese"]
    done = CliRunner().invoke(main, [*run, *sets, "--hold-out-dataset", "taiwanese"])
    assert done.exit_code == 0, done.output
    assert "taiwanese held out" in done.output
    assert seen["datasets"] == ["london", "ckplus"] and seen["split"] == "all"
    meta = load_checkpoint(held)["meta"]
    assert meta["hold_out_dataset"] == "taiwanese" and meta["datasets"] == ["london", "ckplus"]
    refused = CliRunner().invoke(
        main,
        [
            *run[:3],
            "-o",
            str(tmp_path / "x.pt"),
            "--data",
            "london",
            "--hold-out-dataset",
            "ckplus",
        ],
    )
    assert refused.exit_code != 0 and "cannot hold out" in refused.output


def test_gan_method_translates_to_its_target(tmp_path):
    """The evaluation adapter loads a checkpoint's generator and feeds it the target label;
    grayscale crops come back as one channel."""
    from pixelfes.baselines.method import GANMethod, translate
    from pixelfes.evaluation.methods import Method

    images, labels = tiny_data()
    trainer = Trainer(TrainConfig(c_dim=len(DOMAINS), **TINY), images, labels % 3)
    path = tmp_path / "g.pt"
    trainer.save(path)
    method = GANMethod(path, "sad").fit(images, images, groups=["s"] * len(images))
    assert isinstance(method, Method) and method.id == "g"
    out = method.predict(images[:3])
    assert out.shape == (3, 16, 16, 3) and out.dtype == np.float32
    x = torch.from_numpy(images[:3]).permute(0, 3, 1, 2).float() / 127.5 - 1
    label = torch.nn.functional.one_hot(torch.full((3,), DOMAINS.index("sad")), len(DOMAINS))
    with torch.no_grad():
        expected = ((trainer.generator.eval()(x, label.float()) + 1) / 2).permute(0, 2, 3, 1)
    np.testing.assert_allclose(out, expected.numpy(), atol=1e-6)
    assert not np.allclose(translate(method.generator_, images[:3], "happy"), out)
    assert method.predict(images[:2, :, :, :1]).shape == (2, 16, 16, 1)
    assert method.n_parameters == count_parameters(trainer.generator)
    with pytest.raises(ValueError, match="unknown target"):
        GANMethod(path, "bored")


@pytest.mark.data
def test_labelled_images_hold_out_whole_subjects(shared_data):
    from pixelfes.baselines.pool import labelled_images

    train = labelled_images(["london"], ["happy"], split="train", root=shared_data)
    test = labelled_images(["london"], ["happy"], split="test", root=shared_data)
    assert not set(train.subjects) & set(test.subjects)
    assert set(np.unique(train.labels)) == {DOMAINS.index("neutral"), DOMAINS.index("happy")}
    assert train.images.shape[1:] == (128, 128, 3) and train.images.dtype == np.uint8
    # one neutral and one smiling photo per London subject
    assert len(test) == 2 * len(set(test.subjects))
