"""GAN losses as pure functions of discriminator logits; LOSSES maps a name to a pair."""

from ganforge.losses.adversarial import (
    LOSSES,
    AdversarialLoss,
    discriminator_loss_bce,
    discriminator_loss_hinge,
    discriminator_loss_least_squares,
    discriminator_loss_relativistic,
    discriminator_loss_wasserstein,
    generator_loss_hinge,
    generator_loss_least_squares,
    generator_loss_minimax,
    generator_loss_nonsaturating,
    generator_loss_relativistic,
    generator_loss_wasserstein,
    with_label_smoothing,
)
from ganforge.losses.mode_seeking import mode_seeking_loss
from ganforge.losses.penalties import PENALTIES, gradient_penalty, r1_penalty
from ganforge.losses.self_supervised import SELF_SUPERVISED, reconstruction_loss

__all__ = ["LOSSES", "AdversarialLoss", "discriminator_loss_bce", "discriminator_loss_hinge",
           "discriminator_loss_least_squares", "discriminator_loss_relativistic", "generator_loss_hinge",
           "generator_loss_least_squares", "generator_loss_minimax", "generator_loss_nonsaturating",
           "generator_loss_relativistic", "discriminator_loss_wasserstein", "generator_loss_wasserstein",
           "PENALTIES", "gradient_penalty", "r1_penalty", "mode_seeking_loss", "with_label_smoothing",
           "SELF_SUPERVISED", "reconstruction_loss"]
