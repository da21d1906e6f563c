//! Tests of evaluation and rendering (pure) and of collection on fixture roots.
