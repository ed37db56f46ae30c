//! The shape of a network in the type system, for checks across macro invocations.

use typenum::Unsigned;

/// A network's input and output sizes as type-level numbers.
///
/// `network!` implements it for every network it declares, so a network used as a
/// layer of another, or composed with [`Chain`], has its sizes checked by the
/// compiler even though the two declarations were expanded separately.
pub trait Network {
    /// Number of input features (`C*H*W` for an image network), as a typenum.
    type Input: Unsigned;
    /// Number of output features, as a typenum.
    type Output: Unsigned;
    /// The declared name of the network, for messages.
    const NAME: &'static str;
}

/// Proof that network `Self`'s output has the size network `Next` takes as input.
///
/// `Chain<A, B>` requires `A: Feeds<B>`; when the sizes differ the compiler
/// reports the message below, naming both networks.
#[diagnostic::on_unimplemented(
    message = "network `{Self}` cannot feed network `{Next}`: its output size differs from `{Next}`'s input size",
    label = "`{Self}`'s output does not match `{Next}`'s input",
    note = "compare `<{Self} as nn::Network>::Output` with `<{Next} as nn::Network>::Input`"
)]
pub trait Feeds<Next: Network>: Network {}

impl<A: Network, B: Network<Input = A::Output>> Feeds<B> for A {}

/// Two networks run one after the other: `B(A(x))`.
///
/// The composition only type-checks when `A`'s output size equals `B`'s input size.
#[derive(Debug, Clone)]
pub struct Chain<A, B> {
    /// The first network.
    pub first: A,
    /// The second network, fed by the first.
    pub second: B,
}

impl<A: Feeds<B>, B: Network> Chain<A, B> {
    /// Composes `first` then `second`.
    pub fn new(first: A, second: B) -> Self {
        Chain { first, second }
    }
}

impl<A: Feeds<B>, B: Network> Network for Chain<A, B> {
    type Input = A::Input;
    type Output = B::Output;
    const NAME: &'static str = "Chain";
}
