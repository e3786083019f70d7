"""The numbers of the physics contract every backend keeps (`evolab.physics.contract`): time steps, the rules'
constants, disqualification codes, sensor frames, controller modes, the fitness terms and the layout of
the `sim` parameter vector (DESIGN §4). Backends and the Python reference read these; none defines its own."""

from __future__ import annotations

CONTROL_DT = 1.0 / 60.0
STEPS_PER_FRAME = 4
"""Frames are recorded every 4th control step: exactly 15 FPS (DESIGN §3)."""
STABILITY_OMEGA_H = 0.9
STABILITY_DAMPING_H = 0.5
LINEAR_DAMPING = 0.1
"""Velocity decays by (1 - 0.1)^dt (cannon's linear damping, DESIGN §4)."""
GROUND_RESTITUTION = 0.06
CONTACT_OMEGA_H = 0.4
"""Node-node contact stiffness, as omega * h of the pair: k = m_red (0.4 / h)^2."""
BOUNCE_THRESHOLD = 0.5
"""Impacts slower than this (units/s) do not bounce, so resting contacts stay at rest."""
PELLET_REACH = 0.35
MAX_PELLETS = 10
EXPLOSION_RADIUS = 50.0
EXPLOSION_HEIGHT = 30.0

DQ_NONE, DQ_FREQUENCY, DQ_NAN, DQ_EXPLOSION = 0, 1, 2, 3
FRAME_WORLD, FRAME_BODY, FRAME_MOTION = 0, 1, 2
MODE_OFF, MODE_HYBRID, MODE_PURE = 0, 1, 2
N_TERMS = 4  # pellets, progress, regression (positive number subtracted), movement

# Indices into the `sim` float64 parameter vector the driver fills.
P_GRAVITY, P_GROUND_FRICTION, P_ARENA, P_MAX_FREQUENCY = 0, 1, 2, 3
P_W_PELLET, P_W_PROGRESS, P_W_REGRESSION, P_W_MOVEMENT, P_W_SPEED = 4, 5, 6, 7, 8
P_SENSOR_FRAME = 9  # SimConfig.sensor_frame: FRAME_WORLD, FRAME_BODY or FRAME_MOTION
N_SIM_PARAMS = 10
