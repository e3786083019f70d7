"""The rules of `kernel_rules` in plain Python, for the reference simulation (`evolab.physics.reference`):
pellet spawning, the fitness, the centre of mass and the controller network, written for clarity."""

from __future__ import annotations

import math

from evolab.config import SimConfig


def edge_distance(cx: float, cz: float, px: float, pz: float, radius: float) -> float:
    dx = px - cx
    dz = pz - cz
    return max(0.0, math.sqrt(dx * dx + dz * dz) - radius)


def spawn_pellet(
    idx: int, cx: float, cz: float, radius: float, arena: float, u_dist: float, u_angle: float, prev_angle: float
) -> tuple[list[float], float]:
    if idx == 0:
        extra = 7.0 + u_dist
        angle = u_angle * 2.0 * math.pi
        y = 0.3
    else:
        extra = (8.0 if idx <= 2 else 9.0) + u_dist
        angle = prev_angle + math.pi + (u_angle - 0.5) * math.pi
        y = 0.3 + 0.4 * idx
    dist = radius + extra
    half = 0.45 * arena
    x = min(max(cx + math.cos(angle) * dist, -half), half)
    z = min(max(cz + math.sin(angle) * dist, -half), half)
    return [x, y, z], angle


def fitness_terms(
    cfg: SimConfig,
    n_collected: int,
    has_pellet: bool,
    pellet: list[float],
    init_dist: float,
    closest: float,
    cx: float,
    cz: float,
    radius: float,
    net_xz: float,
    t: float,
) -> tuple[float, list[float]]:
    w = cfg.fitness
    pellet_term = w.pellet * n_collected
    progress_term = 0.0
    regression_term = 0.0
    if has_pellet and init_dist > 0.0:
        d = edge_distance(cx, cz, pellet[0], pellet[2], radius)
        progress = min(max((init_dist - d) / init_dist, 0.0), 1.0)
        progress_term = w.progress * progress
        if n_collected > 0 and d > closest:
            regression_term = w.regression * min(1.0, (d - closest) / (0.5 * init_dist))
    movement_term = 0.0
    if t > 0.5:
        movement_term = w.movement * min(1.0, (net_xz / t) / w.movement_reference_speed)
    terms = [pellet_term, progress_term, regression_term, movement_term]
    return max(0.0, pellet_term + progress_term - regression_term + movement_term), terms


def center_of_mass(pos: list[list[float]], mass: list[float], total_mass: float) -> tuple[float, float, float]:
    x = y = z = 0.0
    for p, mi in zip(pos, mass, strict=True):
        x += mi * p[0]
        y += mi * p[1]
        z += mi * p[2]
    return x / total_mass, y / total_mass, z / total_mass


def network_forward(weights: list[float], hidden: int, activation: int, inputs: list[float], n_out: int) -> list[float]:
    ih = 8 * hidden
    h_buf = []
    for j in range(hidden):
        acc = weights[ih + j]
        for i in range(8):
            acc += inputs[i] * weights[i * hidden + j]
        if activation == 1:
            h_buf.append(max(acc, 0.0))
        elif activation == 2:
            h_buf.append(1.0 / (1.0 + math.exp(-min(max(acc, -500.0), 500.0))))
        else:
            h_buf.append(math.tanh(acc))
    ho = ih + hidden
    ob = ho + hidden * n_out
    out = []
    for o in range(n_out):
        acc = weights[ob + o]
        for j in range(hidden):
            acc += h_buf[j] * weights[ho + j * n_out + o]
        out.append(math.tanh(acc))
    return out
