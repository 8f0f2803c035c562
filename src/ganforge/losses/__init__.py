"""GAN losses as pure functions of discriminator logits; LOSSES maps a name to a pair."""

from ganforge.losses.adversarial import (
    LOSSES,
    AdversarialLoss,
    discriminator_loss_bce,
    generator_loss_minimax,
    generator_loss_nonsaturating,
)

__all__ = ["LOSSES", "AdversarialLoss", "discriminator_loss_bce", "generator_loss_minimax",
           "generator_loss_nonsaturating"]
