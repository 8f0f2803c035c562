import pytest
import torch
from PIL import Image

from ganforge.apps import class_morph, interpolate, lerp, save_gif, slerp
from ganforge.errors import InputError


def test_interpolation_endpoints_equal_the_inputs():
    a, b = torch.randn(16), torch.randn(16)
    t = torch.linspace(0, 1, 5)
    for path in (lerp(a, b, t), slerp(a, b, t)):
        assert torch.allclose(path[0], a, atol=1e-6) and torch.allclose(path[-1], b, atol=1e-6)
    assert torch.allclose(lerp(a, b, torch.tensor([0.25]))[0], 0.75 * a + 0.25 * b)


def test_slerp_keeps_norms_and_lerp_does_not():
    a = torch.tensor([3.0, 0.0])
    b = torch.tensor([0.0, 3.0])
    t = torch.linspace(0, 1, 9)
    assert torch.allclose(slerp(a, b, t).norm(dim=1), torch.full((9,), 3.0), atol=1e-5)
    assert lerp(a, b, t).norm(dim=1)[4] == pytest.approx(3 / 2**0.5, rel=1e-5)  # the chord dips inwards
    # Midpoint lies on the bisector at 45 degrees.
    assert torch.allclose(slerp(a, b, torch.tensor([0.5]))[0], torch.tensor([3 / 2**0.5, 3 / 2**0.5]), atol=1e-5)
    # Different norms: interpolated linearly along the arc.
    assert slerp(a, 2 * b, torch.tensor([0.5]))[0].norm() == pytest.approx(4.5, rel=1e-5)


def test_slerp_of_parallel_latents_is_the_line():
    a = torch.tensor([1.0, 1.0])
    assert torch.allclose(slerp(a, 2 * a, torch.tensor([0.5]))[0], 1.5 * a, atol=1e-6)
    with pytest.raises(InputError):
        slerp(torch.zeros(2), a, torch.tensor([0.5]))


def test_interpolate_images_start_and_end_at_the_seeds(tiny_gan):
    frames = interpolate(tiny_gan, 3, 7, steps=5, method="linear")
    assert frames.shape == (5, 3, 16, 16)
    assert torch.allclose(frames[0], tiny_gan.sample(1, seed=3)[0], atol=1e-5)
    assert torch.allclose(frames[-1], tiny_gan.sample(1, seed=7)[0], atol=1e-5)
    with pytest.raises(InputError, match="method"):
        interpolate(tiny_gan, 0, 1, method="cubic")
    with pytest.raises(InputError, match="steps"):
        interpolate(tiny_gan, 0, 1, steps=1)


def test_class_morph_ends_at_each_class(tiny_cond_gan):
    frames = class_morph(tiny_cond_gan, seed=2, label_a=0, label_b=2, steps=4)
    z = tiny_cond_gan.latents(1, 2)
    assert torch.allclose(frames[0], tiny_cond_gan.generate(z, 0)[0], atol=1e-5)
    assert torch.allclose(frames[-1], tiny_cond_gan.generate(z, 2)[0], atol=1e-5)
    with pytest.raises(InputError, match="label_b"):
        class_morph(tiny_cond_gan, 0, 0, 3)


def test_class_morph_needs_a_conditional_model(tiny_gan):
    with pytest.raises(InputError, match="class-conditional"):
        class_morph(tiny_gan, 0, 0, 1)


def test_gif_has_the_frames_forward_and_back(tmp_path):
    frames = torch.linspace(-1, 1, 4).view(4, 1, 1, 1).expand(4, 3, 8, 8)
    path = save_gif(frames, tmp_path / "a.gif", upscale=2)
    gif = Image.open(path)
    assert gif.n_frames == 6 and gif.size == (16, 16)  # 0 1 2 3 2 1
    values = []
    for i in range(gif.n_frames):
        gif.seek(i)
        values.append(gif.convert("L").getpixel((0, 0)))
    assert values == [0, 85, 170, 255, 170, 85]
