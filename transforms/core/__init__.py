"""Pure functions of newsflow's stages: plain values in, plain values out, no Beam here."""
