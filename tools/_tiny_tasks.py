"""Synthetic task families for the bundled tiny reasoning model.

Every sample is a chat (messages, optional tools, thinking on/off) plus the target the model must
write: a short reasoning text and an answer. ``make_sample(rng, family)`` draws one; the training
script and the evaluation script use the same generators with different seeds, so the evaluation
set is held out by construction (fresh numbers, names and phrasings drawn independently).
"""

from __future__ import annotations

import json
import random
import zlib
from dataclasses import dataclass, field
from typing import Any

FIRST_NAMES = [
    "Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jack",
    "Karen", "Liam", "Maria", "Noah", "Olivia", "Peter", "Quinn", "Rosa", "Sam", "Tara",
    "Umar", "Vera", "Walter", "Xena", "Yusuf", "Zoe", "Ahmed", "Bianca", "Chen", "Dmitri",
    "Elena", "Fatima", "Goran", "Hana", "Ivan", "Julia", "Kenji", "Lucia", "Mohammed", "Nina",
    "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Ursula", "Victor", "Wen", "Yara", "Zain",
]
CITIES = [
    "Paris", "London", "Berlin", "Madrid", "Rome", "Tokyo", "Seoul", "Sydney", "Toronto",
    "Boston", "Chicago", "Denver", "Miami", "Seattle", "Dallas", "Cairo", "Lagos", "Nairobi",
    "Lima", "Bogota", "Oslo", "Vienna", "Prague", "Dublin", "Lisbon", "Athens", "Delhi",
    "Mumbai", "Bangkok", "Hanoi", "Manila", "Jakarta", "Istanbul", "Moscow", "Warsaw",
    "Zurich", "Munich", "Osaka", "Melbourne", "Vancouver", "San Francisco", "New York",
    "Los Angeles", "Mexico City", "Buenos Aires", "Cape Town", "Hong Kong", "Singapore",
]
CHINESE_CITIES = [
    "北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "重庆", "天津", "苏州",
    "长沙", "青岛", "厦门", "昆明",
]
CONDITIONS = ["sunny", "cloudy", "rainy", "windy", "snowy", "foggy"]
SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a careful assistant. Think before you answer.",
    "Answer briefly.",
]

# Tool specifications in the OpenAI format. Names and unit enums vary so the model learns to read
# the offered tools (copy the name, pick the unit from the enum) instead of memorising one spec.
WEATHER_TOOL_NAMES = ["get_weather", "get_current_weather"]
WEATHER_DESCRIPTIONS = [
    "Determine weather in my location",
    "Get the current weather in a given location",
]
LOCATION_DESCRIPTIONS = [
    "The city, e.g. San Francisco",
    "The city and state e.g. San Francisco, CA",
    "City and state, e.g., 'San Francisco, CA'",
]
UNIT_ENUMS: list[list[str] | None] = [["c", "f"], ["celsius", "fahrenheit"], None]
TIME_TOOL_NAMES = ["get_time", "get_current_time"]


@dataclass(slots=True)
class Sample:
    """One chat with its target completion and what the evaluation checks."""

    family: str
    messages: list[dict[str, Any]]
    reasoning: str
    answer: str
    tools: list[dict[str, Any]] | None = None
    enable_thinking: bool = True
    expected: dict[str, Any] = field(default_factory=dict)
    # identifies the problem for the train/eval split; None = a fixed prompt shared by both
    key: str | None = None


# ---------------------------------------------------------------- tools


def weather_tool(rng: random.Random) -> dict[str, Any]:
    """A get_weather-like tool; the unit parameter is optional and its enum varies."""
    name = rng.choice(WEATHER_TOOL_NAMES)
    enum = rng.choice(UNIT_ENUMS)
    properties: dict[str, Any] = {
        "location": {"type": "string", "description": rng.choice(LOCATION_DESCRIPTIONS)},
    }
    required = ["location"]
    if enum is not None:
        properties["unit"] = {"type": "string", "enum": list(enum)}
        required.append("unit")
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    strict = rng.random() < 0.3  # the shape of the FastDeploy example
    if strict:
        parameters["additionalProperties"] = False
    parameters["required"] = required
    function: dict[str, Any] = {"name": name, "description": rng.choice(WEATHER_DESCRIPTIONS),
                                "parameters": parameters}
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def time_tool(rng: random.Random) -> dict[str, Any]:
    """A get_time-like tool with one required city parameter."""
    return {
        "type": "function",
        "function": {
            "name": rng.choice(TIME_TOOL_NAMES),
            "description": "Get the local time in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }


def tool_call_text(name: str, arguments: dict[str, Any]) -> str:
    """The canonical tool-call block the model writes."""
    body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


# ---------------------------------------------------------------- arithmetic


def _digits(n: int) -> tuple[int, int]:
    return n // 10, n % 10


def add_reasoning(a: int, b: int) -> str:
    ta, oa = _digits(a)
    tb, ob = _digits(b)
    ones = oa + ob
    carry = ones // 10
    tens = ta + tb + carry
    carry_text = f", write {ones % 10} carry {carry}" if carry else ""
    tens_expr = f"{ta} + {tb} + {carry}" if carry else f"{ta} + {tb}"
    return (
        f"{a} + {b}. Ones: {oa} + {ob} = {ones}{carry_text}. "
        f"Tens: {tens_expr} = {tens}. So {a} + {b} = {a + b}."
    )


def sub_reasoning(a: int, b: int) -> str:
    ta, oa = _digits(a)
    tb, ob = _digits(b)
    if oa >= ob:
        ones_text = f"Ones: {oa} - {ob} = {oa - ob}."
        borrow = 0
    else:
        ones_text = f"Ones: {oa} < {ob}, borrow: {oa + 10} - {ob} = {oa + 10 - ob}."
        borrow = 1
    tens_expr = f"{ta} - {tb} - 1" if borrow else f"{ta} - {tb}"
    return f"{a} - {b}. {ones_text} Tens: {tens_expr} = {ta - tb - borrow}. So {a} - {b} = {a - b}."


def mul_reasoning(a: int, b: int) -> str:
    if a < 10:
        return f"{a} * {b}. {a} times {b} is {a * b}. So {a} * {b} = {a * b}."
    ta, oa = _digits(a)
    ones = oa * b
    tens = ta * b + ones // 10
    carry_text = f", write {ones % 10} carry {ones // 10}" if ones >= 10 else ""
    tens_expr = f"{ta} * {b} + {ones // 10}" if ones >= 10 else f"{ta} * {b}"
    return (
        f"{a} * {b}. Ones: {oa} * {b} = {ones}{carry_text}. "
        f"Tens: {tens_expr} = {tens}. So {a} * {b} = {a * b}."
    )


ADD_QUESTIONS = [
    "What is {a} + {b}?", "Compute {a} + {b}.", "What is {a} plus {b}?", "How much is {a} + {b}?",
    "Add {a} and {b}.", "{a} + {b} = ?", "{a}加{b}等于多少？",
]
SUB_QUESTIONS = [
    "What is {a} - {b}?", "Compute {a} - {b}.", "What is {a} minus {b}?", "Subtract {b} from {a}.",
    "{a} - {b} = ?", "{a}减{b}等于多少？",
]
MUL_QUESTIONS = [
    "What is {a} * {b}?", "What is {a} times {b}?", "Multiply {a} by {b}.", "{a} * {b} = ?",
    "{a}乘以{b}等于多少？",
]


def _operand(rng: random.Random) -> int:
    # many operands are single digits, so the digit facts are also seen on their own
    return rng.randint(0, 9) if rng.random() < 0.4 else rng.randint(0, 99)


def arithmetic_problem(rng: random.Random) -> tuple[str, str, int]:
    """(question, reasoning, result) for +, - or * on small numbers."""
    op = rng.choices(["+", "-", "*"], weights=[5, 4, 2])[0]
    if op == "+":
        a, b = _operand(rng), _operand(rng)
        return rng.choice(ADD_QUESTIONS).format(a=a, b=b), add_reasoning(a, b), a + b
    if op == "-":
        a, b = _operand(rng), _operand(rng)
        a, b = max(a, b), min(a, b)
        return rng.choice(SUB_QUESTIONS).format(a=a, b=b), sub_reasoning(a, b), a - b
    a = rng.randint(2, 9) if rng.random() < 0.85 else rng.randint(10, 29)
    b = rng.randint(2, 9)
    return rng.choice(MUL_QUESTIONS).format(a=a, b=b), mul_reasoning(a, b), a * b


def arithmetic(rng: random.Random) -> Sample:
    question, reasoning, result = arithmetic_problem(rng)
    expr = reasoning.rsplit("So ", 1)[1].rstrip(".")
    answer = rng.choice([f"{expr}.", f"The answer is {result}.", f"{result}"])
    return Sample("arithmetic", [user(question, rng)], reasoning, answer,
                  expected={"number": result}, key=question)


# ---------------------------------------------------------------- comparisons


def _decimal(rng: random.Random, whole: int | None = None) -> str:
    whole = rng.randint(0, 20) if whole is None else whole
    places = rng.choice([0, 1, 1, 2, 2])
    if places == 0:
        return str(whole)
    frac = rng.randint(0, 10**places - 1)
    text = f"{whole}.{frac:0{places}d}"
    return text if not text.endswith("0") else text[:-1] + str(rng.randint(1, 9))


def _parts(x: str) -> tuple[int, str]:
    whole, _, frac = x.partition(".")
    return int(whole), (frac + "00")[:2]


def compare_reasoning(x: str, y: str) -> tuple[str, str | None]:
    """Digit-by-digit comparison; returns (reasoning, greater or None when equal)."""
    wx, fx = _parts(x)
    wy, fy = _parts(y)
    steps = [f"Compare {x} and {y}."]
    if wx != wy:
        big = x if wx > wy else y
        sign = ">" if wx > wy else "<"
        steps.append(f"Whole parts: {wx} {sign} {wy}, so {big} is greater.")
        return " ".join(steps), big
    steps.append(f"Whole parts: {wx} and {wy}, equal.")
    for label, dx, dy in (("Tenths", fx[0], fy[0]), ("Hundredths", fx[1], fy[1])):
        if dx != dy:
            big = x if dx > dy else y
            sign = ">" if dx > dy else "<"
            steps.append(f"{label}: {dx} {sign} {dy}, so {big} is greater.")
            return " ".join(steps), big
        steps.append(f"{label}: {dx} and {dy}, equal.")
    steps.append("They are equal.")
    return " ".join(steps), None


WHICH_QUESTIONS = [
    "{x} and {y}, which is greater?", "Which is larger: {x} or {y}?",
    "Which number is bigger, {x} or {y}?", "Which is greater, {x} or {y}?",
    "{x}和{y}哪个大？",
]


def comparison(rng: random.Random) -> Sample:
    x = _decimal(rng)
    if rng.random() < 0.6:  # same whole part: the interesting case (9.11 vs 9.8)
        y = _decimal(rng, whole=_parts(x)[0])
    else:
        y = _decimal(rng)
    if rng.random() < 0.03:
        y = x
    reasoning, big = compare_reasoning(x, y)
    if rng.random() < 0.25:
        question = rng.choice(["Is {x} greater than {y}?", "Is {x} larger than {y}?"]).format(x=x, y=y)
        if big is None:
            answer = f"No, {x} and {y} are equal."
        elif big == x:
            answer = f"Yes, {x} is greater than {y}."
        else:
            answer = f"No, {x} is less than {y}."
    else:
        question = rng.choice(WHICH_QUESTIONS).format(x=x, y=y)
        if big is None:
            answer = f"{x} and {y} are equal."
        else:
            small = y if big == x else x
            answer = f"{big} is greater than {small}."
    return Sample("comparison", [user(question, rng)], reasoning, answer,
                  expected={"greater": big, "pair": [x, y]}, key=question)


# ---------------------------------------------------------------- JSON

RANDOM_PERSON_QUESTIONS = [
    "Generate a JSON with the name and age of one random person.",
    "Create a JSON object with the name and age of a random person.",
    "Give me one random person as JSON with name and age.",
    "Output a JSON with a person's name and age.",
]
NAMED_PERSON_QUESTIONS = [
    "Give me a JSON object for a person named {n} who is {a} years old.",
    "Write JSON for {n}, age {a}.",
    "Make a JSON with name {n} and age {a}.",
]
JSON_RESULT_QUESTIONS = [
    "Answer in JSON with the key \"result\": {q}",
    "Reply with a JSON object {{\"result\": ...}}. {q}",
]


def json_answer(rng: random.Random) -> Sample:
    kind = rng.choices(["random", "named", "result"], weights=[4, 3, 3])[0]
    if kind == "random":
        name, age = rng.choice(FIRST_NAMES), rng.randint(18, 90)
        reasoning = f"I need one person with a name and an age. I pick {name}, age {age}."
        answer = json.dumps({"name": name, "age": age})
        return Sample("json", [user(rng.choice(RANDOM_PERSON_QUESTIONS), rng)], reasoning, answer,
                      expected={"keys": {"name": "str", "age": "int"}})
    if kind == "named":
        name, age = rng.choice(FIRST_NAMES), rng.randint(1, 99)
        question = rng.choice(NAMED_PERSON_QUESTIONS).format(n=name, a=age)
        reasoning = f"The person is {name} and the age is {age}."
        value = {"name": name, "age": age}
        return Sample("json", [user(question, rng)], reasoning, json.dumps(value),
                      expected={"json": value}, key=question)
    question, reasoning, result = arithmetic_problem(rng)
    question = rng.choice(JSON_RESULT_QUESTIONS).format(q=question)
    value = {"result": result}
    return Sample("json", [user(question, rng)], reasoning, json.dumps(value),
                  expected={"json": value}, key=question)


# ---------------------------------------------------------------- tool calls

WEATHER_QUESTIONS = [
    "What's the weather like in {c}?", "What is the weather in {c} today?",
    "How is the weather in {c}?", "Is it raining in {c}?", "Weather in {c}, please.",
    "Tell me the weather in {c} in {u}.",
]
CHINESE_WEATHER_QUESTIONS = ["{c}今天天气怎么样？", "{c}的天气如何？", "{c}现在天气怎么样？"]
TIME_QUESTIONS = ["What time is it in {c}?", "What is the local time in {c}?", "{c}现在几点？"]


def _pick_unit(enum: list[str], question: str) -> str:
    wants_f = "fahrenheit" in question.lower()
    return enum[1] if wants_f else enum[0]


def tool_call(rng: random.Random) -> Sample:
    weather, clock = weather_tool(rng), time_tool(rng)
    offered = [weather] if rng.random() < 0.45 else rng.sample([weather, clock], 2)
    chinese = rng.random() < 0.3
    city = rng.choice(CHINESE_CITIES if chinese else CITIES)
    if clock in offered and rng.random() < 0.5:
        fn = clock["function"]
        question = rng.choice(TIME_QUESTIONS[2:] if chinese else TIME_QUESTIONS[:2]).format(c=city)
        arguments: dict[str, Any] = {"city": city}
        reasoning = f"The user asks for the time in {city}. I call {fn['name']} with city {city}."
    else:
        fn = weather["function"]
        enum = fn["parameters"]["properties"].get("unit", {}).get("enum")
        if chinese:
            question = rng.choice(CHINESE_WEATHER_QUESTIONS).format(c=city)
        else:
            templates = WEATHER_QUESTIONS if enum else WEATHER_QUESTIONS[:-1]
            question = rng.choice(templates).format(c=city, u=rng.choice(["celsius", "fahrenheit"]))
        arguments = {"location": city}
        reasoning = f"The user asks about the weather in {city}. I call {fn['name']} with location {city}"
        if enum:
            arguments["unit"] = _pick_unit(enum, question)
            reasoning += f" and unit {arguments['unit']}"
        reasoning += "."
    answer = tool_call_text(fn["name"], arguments)
    key = question + json.dumps(offered, sort_keys=True)
    return Sample("tool_call", [user(question, rng)], reasoning, answer, tools=offered,
                  expected={"call": {"name": fn["name"], "arguments": arguments}}, key=key)


def tool_followup(rng: random.Random) -> Sample:
    """The tool result came back: the model answers from it."""
    tool = weather_tool(rng)
    fn = tool["function"]
    city = rng.choice(CITIES)
    temp, cond = rng.randint(-10, 38), rng.choice(CONDITIONS)
    arguments = {"location": city}
    messages = [
        user(rng.choice(WEATHER_QUESTIONS[:-1]).format(c=city), rng),
        {"role": "assistant", "content": "",
         "tool_calls": [{"id": "call_0", "type": "function",
                         "function": {"name": fn["name"], "arguments": json.dumps(arguments)}}]},
        {"role": "tool", "tool_call_id": "call_0",
         "content": json.dumps({"temperature": temp, "condition": cond})},
    ]
    reasoning = f"The tool says {city} is {cond} at {temp} degrees."
    answer = f"It is {cond} in {city} at {temp} degrees."
    return Sample("tool_followup", messages, reasoning, answer, tools=[tool],
                  expected={"contains": [cond, str(temp)]}, key=reasoning)


def no_tool_weather(rng: random.Random) -> Sample:
    city = rng.choice(CITIES)
    question = rng.choice(WEATHER_QUESTIONS[:-1]).format(c=city)
    reasoning = f"The user asks about the weather in {city}, but no tool is available."
    answer = f"I cannot check the weather in {city} because no weather tool is available."
    return Sample("no_tool", [user(question, rng)], reasoning, answer,
                  expected={"contains": [city], "no_tool_call": True}, key=question)


ECHO_QUESTIONS = ["Repeat after me: {s}", "Say exactly: {s}", "Copy this: {s}", "Repeat: {s}", "请重复：{s}"]


def _echo_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:  # distinct words: the clearest signal for learning to copy from the prompt
        return " ".join(rng.sample(CITIES + FIRST_NAMES + CONDITIONS, rng.randint(2, 5)))
    if kind < 0.8:
        return " ".join(str(rng.randint(0, 99)) for _ in range(rng.randint(2, 5)))
    if kind < 0.9:
        return "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(3, 8)))
    return "".join(rng.sample(CHINESE_CITIES, rng.randint(1, 3)))


def echo(rng: random.Random) -> Sample:
    """Copy the user's text: teaches the model to find and copy spans from the prompt."""
    text = _echo_text(rng)
    question = rng.choice(ECHO_QUESTIONS).format(s=text)
    return Sample("echo", [user(question, rng)], f"The user wants me to repeat: {text}", text,
                  expected={"text": text}, key=question)


GREETINGS = ["Hello", "Hi!", "Hello, who are you?", "Hey there", "你好", "What can you do?"]


def greeting(rng: random.Random) -> Sample:
    question = rng.choice(GREETINGS)
    reasoning = "The user greets me. I introduce myself briefly."
    answer = rng.choice([
        "Hello! I am a tiny reasoning model. I can do small sums, compare numbers, write JSON and call tools.",
        "Hi! I can add, subtract and multiply small numbers, compare decimals, write JSON and call tools.",
    ])
    return Sample("greeting", [user(question, rng)], reasoning, answer, expected={})


# ---------------------------------------------------------------- assembly

FAMILIES = {
    "arithmetic": arithmetic,
    "comparison": comparison,
    "json": json_answer,
    "tool_call": tool_call,
    "tool_followup": tool_followup,
    "no_tool": no_tool_weather,
    "greeting": greeting,
    "echo": echo,
}
FAMILY_WEIGHTS = {
    "arithmetic": 34, "comparison": 22, "json": 20, "tool_call": 20,
    "tool_followup": 5, "no_tool": 4, "greeting": 3, "echo": 12,
}


def user(text: str, rng: random.Random) -> dict[str, Any]:
    """A user message; sometimes with content given as a list of text parts."""
    if rng.random() < 0.1:
        return {"role": "user", "content": [{"type": "text", "text": text}]}
    return {"role": "user", "content": text}


def is_held_out(key: str) -> bool:
    """About 1 problem in 8 is reserved for evaluation and never drawn for training."""
    return zlib.crc32(key.encode("utf-8")) % 8 == 0


def draw(rng: random.Random, family: str, split: str) -> Sample:
    """One task of ``family`` from the train or eval side of the split."""
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    while True:
        sample = FAMILIES[family](rng)
        if sample.key is None or is_held_out(sample.key) == (split == "eval"):
            return sample


def make_sample(rng: random.Random, family: str | None = None, *, split: str = "train",
                thinking_off_rate: float = 0.2) -> Sample:
    """Draw one sample: a family's task plus optional system prompt, history and thinking off."""
    if family is None:
        names = list(FAMILY_WEIGHTS)
        family = rng.choices(names, weights=[FAMILY_WEIGHTS[n] for n in names])[0]
    sample = draw(rng, family, split)
    if sample.tools is None and family in ("arithmetic", "comparison") and rng.random() < 0.15:
        sample.tools = [weather_tool(rng)]  # tools offered but not needed: answer normally
    if len(sample.messages) == 1 and rng.random() < 0.12:
        previous = draw(rng, rng.choice(["arithmetic", "comparison", "json"]), split)
        history_answer = previous.answer
        if rng.random() < 0.3:  # history may carry reasoning; the template must drop it
            history_answer = previous.reasoning + "\n</think>\n\n" + previous.answer
        sample.messages = [previous.messages[0],
                           {"role": "assistant", "content": history_answer}] + sample.messages
    if rng.random() < 0.25:
        sample.messages = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)}] + sample.messages
    sample.enable_thinking = rng.random() >= thinking_off_rate
    return sample
