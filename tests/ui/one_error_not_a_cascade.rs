use nn::network;

// The declaration fails its check; code naming its types reports nothing more.
network! {
    pub struct Net { Linear(4, 3) -> Linear(2, 1) }
}

fn keep(_model: &Net, _frozen: &NetFrozen, _workspace: &NetWorkspace, _tape: &NetTape<'_>) {}

fn main() {}
