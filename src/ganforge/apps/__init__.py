"""Things to do with a trained generator: explore its latent space, invert images into it,
inpaint and restore damaged images. Each function takes a loaded GAN (`ganforge.load`) and
works on its device."""

from ganforge.apps.explore import class_morph, interpolate, lerp, save_gif, slerp
from ganforge.apps.inpainting import (
    add_noise,
    center_box_mask,
    damage,
    feather_blend,
    gaussian_blur,
    inpaint_inversion,
    inpaint_net,
    make_mask,
    mean_fill,
    poisson_blend,
    random_boxes_mask,
    restore_inversion,
    scribble_mask,
    telea_inpaint,
    train_inpainter,
)
from ganforge.apps.inversion import Inversion, invert, load_encoder, save_encoder, train_encoder

__all__ = ["lerp", "slerp", "interpolate", "class_morph", "save_gif", "Inversion", "invert", "train_encoder",
           "save_encoder", "load_encoder", "center_box_mask", "random_boxes_mask", "scribble_mask", "make_mask",
           "damage", "feather_blend", "poisson_blend", "inpaint_inversion", "inpaint_net", "train_inpainter",
           "mean_fill", "telea_inpaint", "gaussian_blur", "add_noise", "restore_inversion"]
