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

/// Network `Self` takes `N` input features; `Source` is what feeds it (for the message).
///
/// `network!` implements it for the one `N` each network is declared with, so a
/// mismatch fails to compile, naming both networks and, in the implementation the
/// compiler lists, both sizes.
#[diagnostic::on_unimplemented(
    message = "`{Source}` feeds {N} features into network `{Self}`, which takes a different number",
    label = "`{Self}` cannot take the {N} features `{Source}` produces",
    note = "the implementation listed below shows the input size `{Self}` was declared with"
)]
pub trait TakesInput<const N: usize, Source> {}

/// Network `Self` produces `N` output features; `Consumer` is what it feeds (for the message).
#[diagnostic::on_unimplemented(
    message = "network `{Self}` does not produce the {N} features that the next layer of `{Consumer}` takes",
    label = "the layer after `{Self}` expects {N} features",
    note = "the implementation listed below shows the output size `{Self}` was declared with"
)]
pub trait ProducesOutput<const N: usize, Consumer> {}

/// Network `Self`'s output has the size network `Next` takes as input.
///
/// `network!` implements it for each network through [`TakesInput`], so a mismatch
/// reports `TakesInput`'s message with both networks and both sizes.
pub trait Feeds<Next> {}

/// Compiles only when `T` takes `N` input features (`network!` emits it for a nested network).
#[doc(hidden)]
pub fn assert_takes_input<T: TakesInput<N, Source>, Source, const N: usize>() {}

/// Compiles only when `T` produces `N` output features (`network!` emits it for a nested network).
#[doc(hidden)]
pub fn assert_produces_output<T: ProducesOutput<N, Consumer>, Consumer, const N: usize>() {}

/// Two networks run one after the other: `B(A(x))`, like `nn.Sequential(a, b)`.
///
/// The composition only type-checks when `A`'s output size equals `B`'s input size.
/// Its state-dict keys are `0.<key of A>` and `1.<key of B>`.
#[derive(Debug, Clone)]
pub struct Chain<A, B> {
    /// The first network.
    pub first: A,
    /// The second network, fed by the first.
    pub second: B,
}

impl<A, B> Chain<A, B> {
    /// Composes `first` then `second`; compiles only when their sizes meet.
    pub fn new(first: A, second: B) -> Self
    where
        A: Feeds<B>,
    {
        Chain { first, second }
    }
}

impl<A: Network + Feeds<B>, B: Network> Network for Chain<A, B> {
    type Input = A::Input;
    type Output = B::Output;
    const NAME: &'static str = "Chain";
}

impl<A: TakesInput<N, Source>, B, Source, const N: usize> TakesInput<N, Source> for Chain<A, B> {}

impl<A, B: ProducesOutput<N, Consumer>, Consumer, const N: usize> ProducesOutput<N, Consumer> for Chain<A, B> {}

impl<A, B: Feeds<Next>, Next> Feeds<Next> for Chain<A, B> {}
