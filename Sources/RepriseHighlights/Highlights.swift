/// Highlights from live-commerce data: signal files (chat, orders, product timeline), per-second
/// series, scoring against a local baseline, window shaping, and the plan the replay forms are
/// cut from.
public enum Highlights {}
