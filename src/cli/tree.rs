//! Rendering a whole App-of-Apps tree from a checkout (being written).
