"""Things to do with a trained generator: explore its latent space, invert images into it,
inpaint and restore damaged images. Each function takes a loaded GAN (`ganforge.api.load`) and
works on its device.

Only the apps that never import the training code are gathered here (the server imports this
package). The ones that train a network are imported by their module path:
`ganforge.apps.inpainter` (the inpainting net), `ganforge.apps.semi_supervised`,
`ganforge.apps.segmentation` and `ganforge.apps.augmentation`.
"""

from ganforge.apps.blending import BLENDS, feather_blend, paste, poisson_blend
from ganforge.apps.explore import class_morph, interpolate, lerp, save_gif, slerp
from ganforge.apps.inpainting import (
    INPAINTERS,
    inpaint_inversion,
    inpaint_net,
    load_inpainter,
    mean_fill,
    save_inpainter,
    telea_inpaint,
)
from ganforge.apps.inversion import Inversion, invert, load_encoder, save_encoder, train_encoder
from ganforge.apps.masks import (
    MASKS,
    center_box_mask,
    damage,
    make_mask,
    random_boxes_mask,
    random_holes,
    scribble_mask,
    user_mask,
)
from ganforge.apps.restoration import CORRUPTIONS, add_noise, gaussian_blur, restore_inversion

__all__ = ["lerp", "slerp", "interpolate", "class_morph", "save_gif", "Inversion", "invert", "train_encoder",
           "save_encoder", "load_encoder", "MASKS", "center_box_mask", "random_boxes_mask", "scribble_mask",
           "make_mask", "random_holes", "user_mask", "damage", "BLENDS", "feather_blend", "poisson_blend", "paste",
           "INPAINTERS", "inpaint_inversion", "inpaint_net", "save_inpainter", "load_inpainter", "mean_fill",
           "telea_inpaint", "CORRUPTIONS", "gaussian_blur", "add_noise", "restore_inversion"]
