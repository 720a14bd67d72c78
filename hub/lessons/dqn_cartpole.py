"""DQN on CartPole: a Q-network learns to balance a pole on a moving cart.

The PyTorch DQN tutorial's system on gymnasium's CartPole-v1: a small MLP scores the two pushes
(left, right) for the cart's state, acts epsilon-greedily, stores every transition in a replay
memory and learns from random mini-batches of it against a target network, a frozen copy that
is refreshed every 100 steps. The left panel draws the current greedy policy's episode (a few faded
snapshots and its last frame, bold); the right panel shows the return of every training episode
and how long each greedy evaluation episode lasted.
"""

from __future__ import annotations

import math

import gymnasium as gym
import torch
from torch import nn

from digitzoo.hub.lessons import plots
from digitzoo.hub.lessons.lesson import Knob, Lesson, register_lesson

BATCH_SIZE, GAMMA, EPS_START, EPS_END, HIDDEN = 64, 0.99, 1.0, 0.05, 128
GOAL = 200  # steps the greedy policy must balance, on average over the last RECENT evaluation episodes
RECENT = 5  # one greedy episode can last 200 steps by luck (even untrained); an average over five rarely does
SNAPSHOTS = 5  # frames of the greedy episode drawn


class ReplayMemory:
    """A ring buffer of transitions held as tensors, so a random batch is one indexing operation."""

    def __init__(self, capacity: int):
        self.states, self.next_states = torch.zeros(capacity, 4), torch.zeros(capacity, 4)
        self.actions, self.rewards, self.dones = torch.zeros(capacity, dtype=torch.long), torch.zeros(capacity), torch.zeros(capacity)
        self.capacity, self.size, self.cursor = capacity, 0, 0

    def push(self, state, action, next_state, reward, done):
        i = self.cursor
        self.states[i], self.actions[i], self.next_states[i] = state, action, next_state
        self.rewards[i], self.dones[i] = reward, done
        self.cursor, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)  # oldest overwritten

    def sample(self, n: int):
        i = torch.randint(self.size, (n,))
        return self.states[i], self.actions[i], self.next_states[i], self.rewards[i], self.dones[i]


def q_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 2))


@register_lesson
class DqnCartpole(Lesson):
    name = "dqn_cartpole"
    title = "DQN: balance a pole (CartPole)"
    group = "sequences and games"
    summary = ("A deep Q-network with a replay memory and a target network learns to balance gymnasium's CartPole; "
               "episode by episode the greedy policy keeps the pole up longer.")
    target = (f"the greedy evaluation episodes (no exploration; one after each training episode) last {GOAL}+ steps "
              f"on average over the last {RECENT}")
    knobs = (
        Knob("lr", "learning rate", 1e-3, 1e-5, 0.1, log=True),
        Knob("eps_decay", "exploration decay (steps for epsilon 1 → 0.05)", 3000, 100, 50000, integer=True),
        Knob("target_update", "target network refresh (every n steps)", 100, 1, 5000, integer=True),
        Knob("memory", "replay memory (transitions)", 10000, 500, 100000, integer=True),
    )
    max_steps = 600  # episodes
    max_seconds = 90
    steps_per_update = 1
    # Seeds 0-4 at the defaults, 1 thread: all 5 reach, at episode 38-59 (760-2950 environment steps), in 1.9-9.0 s.
    code = ("ReplayMemory", "select_action", "optimize", "step")

    def __init__(self, seed: int = 0, **knobs):
        super().__init__(seed, **knobs)
        torch.manual_seed(seed)
        self.env, self.eval_env = gym.make("CartPole-v1"), gym.make("CartPole-v1")
        self.env.reset(seed=seed)  # later resets continue these streams: the run repeats exactly
        self.eval_env.reset(seed=seed + 10_000)
        self.policy_net, self.target_net = q_net(), q_net()
        self.target_net.load_state_dict(self.policy_net.state_dict())
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=self.settings["lr"])
        self.memory = ReplayMemory(self.settings["memory"])
        self.env_steps, self.returns, self.greedy_lengths = 0, [], []
        self.greedy_states: list[list[float]] = []  # the last greedy episode, for the drawing

    def epsilon(self) -> float:
        """Falls linearly from 1 (all random) to 0.05 over eps_decay steps, then stays."""
        return max(EPS_END, EPS_START - (EPS_START - EPS_END) * self.env_steps / self.settings["eps_decay"])

    def select_action(self, state, explore: bool = True) -> int:
        if explore and torch.rand(()).item() < self.epsilon():
            return int(torch.randint(2, ()).item())  # explore: a random push
        with torch.no_grad():
            return int(self.policy_net(state.unsqueeze(0)).argmax(1).item())  # (1, 4) -> (1, 2) -> best action

    def optimize(self) -> float:
        states, actions, next_states, rewards, dones = self.memory.sample(BATCH_SIZE)
        q = self.policy_net(states).gather(1, actions.unsqueeze(1)).squeeze(1)  # (64,): Q of the action taken
        with torch.no_grad():  # the target: reward + discounted best Q of the next state, by the frozen net
            target = rewards + GAMMA * self.target_net(next_states).max(1).values * (1 - dones)
        loss = nn.functional.smooth_l1_loss(q, target)  # Huber: big TD errors do not blow up the step
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(self.policy_net.parameters(), 100)
        self.optimizer.step()
        return loss.item()

    def step(self):
        """One training episode (one update per environment step), then one greedy evaluation episode."""
        state, total, losses = torch.tensor(self.env.reset()[0]), 0.0, []
        while True:
            action = self.select_action(state)
            observation, reward, terminated, truncated, _ = self.env.step(action)
            next_state = torch.tensor(observation)
            # Only a fall ends the future; the 500-step time limit (truncated) does not, so keep bootstrapping.
            self.memory.push(state, action, next_state, reward, float(terminated))
            state, total, self.env_steps = next_state, total + reward, self.env_steps + 1
            if self.memory.size >= BATCH_SIZE:
                losses.append(self.optimize())
            if self.env_steps % self.settings["target_update"] == 0:
                self.target_net.load_state_dict(self.policy_net.state_dict())
            if terminated or truncated:
                break
        self.returns.append(total)
        self.greedy_lengths.append(self.greedy_episode())
        metrics = {"return": total, "greedy steps": self.greedy_lengths[-1], "epsilon": self.epsilon()}
        if losses:
            metrics["loss"] = sum(losses) / len(losses)
        return metrics

    def greedy_episode(self) -> float:
        state, done = torch.tensor(self.eval_env.reset()[0]), False
        self.greedy_states = [state.tolist()]
        while not done:
            observation, _, terminated, truncated, _ = self.eval_env.step(self.select_action(state, explore=False))
            state, done = torch.tensor(observation), terminated or truncated
            self.greedy_states.append(state.tolist())
        return float(len(self.greedy_states) - 1)

    def greedy_average(self) -> float:
        recent = self.greedy_lengths[-RECENT:]
        return sum(recent) / len(recent) if recent else 0.0

    def reached(self) -> bool:
        return len(self.greedy_lengths) >= RECENT and self.greedy_average() >= GOAL

    def result(self):
        return {f"greedy_average_last_{RECENT}": self.greedy_average(), "best_greedy_steps": max(self.greedy_lengths, default=0.0),
                "last_return": self.returns[-1] if self.returns else 0.0, "env_steps": float(self.env_steps)}

    def figure(self):
        data = [plots.line([-2.4, 2.4], [0, 0], "track", color=7, width=1)]
        frames = self.greedy_states
        picks = sorted({round(k * (len(frames) - 1) / (SNAPSHOTS - 1)) for k in range(SNAPSHOTS)}) if frames else []
        for n, k in enumerate(picks):
            data += _cart_and_pole(frames[k], last=n == len(picks) - 1)
        episodes = range(1, len(self.returns) + 1)
        data += [plots.line(episodes, self.returns, "training return", color=0, axis="2", width=1.5),
                 plots.points(episodes, self.greedy_lengths, "greedy episode length", color=1, axis="2", size=4),
                 plots.line([1, max(len(self.returns), 1)], [GOAL, GOAL], "goal", color=2, dash="dot", width=1, axis="2")]
        steps = self.greedy_lengths[-1] if self.greedy_lengths else 0
        fig = plots.figure(data, f"episode {self.steps_done}: greedy policy balances {steps:.0f} steps "
                           f"(last {RECENT}: {self.greedy_average():.0f} on average)", "cart position", "",
                           two_panels=(f"greedy episode: {SNAPSHOTS} snapshots, last in bold", "episodes"),
                           second_titles=("episode", "steps balanced"))
        fig["layout"]["xaxis"]["range"] = [-2.6, 2.6]  # the track is ±2.4; past it the episode ends
        fig["layout"]["yaxis"].update(range=[-0.6, 1.4], showticklabels=False, scaleanchor="x")  # true proportions
        fig["layout"]["showlegend"] = False
        return fig


def _cart_and_pole(state, last: bool) -> list[dict]:
    """A cart (box) and its pole (1 unit long, tilted by the state's angle), bold for the last frame."""
    x, theta = state[0], state[2]
    top = 0.15  # the pole's hinge, on top of the cart
    cart = plots.line([x - 0.25, x + 0.25, x + 0.25, x - 0.25, x - 0.25], [-0.15, -0.15, top, top, -0.15],
                      "cart", color=0, width=2.5 if last else 1)
    pole = plots.line([x, x + math.sin(theta)], [top, top + math.cos(theta)], "pole", color=3, width=6 if last else 2)
    for trace in (cart, pole):
        trace["opacity"] = 1.0 if last else 0.3
    return [cart, pole]
