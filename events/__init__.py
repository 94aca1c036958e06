"""Domain events of LAPOR: types, registry, codec, upcasting and the hash chain."""
