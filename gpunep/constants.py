"""Physical constants shared by the numpy reference and the engine (one value each)."""

#: Coulomb's constant e^2 / (4 pi epsilon_0) in eV Å / e^2, to the seven digits GPUMD uses,
#: so that electrostatics and ZBL match its numbers
K_C = 14.399645
