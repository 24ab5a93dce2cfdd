"""vLLM seed: non-streaming chat completion with reasoning_content.

Serve first:  reasoning-plugins serve --enable-reasoning --reasoning-parser deepseek_r1
Unchanged from the seed except that the base URL can come from OPENAI_BASE_URL.
"""

import os

from openai import OpenAI

# Modify OpenAI's API key and API base to use vLLM's API server.
openai_api_key = "EMPTY"
openai_api_base = os.environ.get("OPENAI_BASE_URL", "http://localhost:8000/v1")

client = OpenAI(
    api_key=openai_api_key,
    base_url=openai_api_base,
)

models = client.models.list()
model = models.data[0].id

# Round 1
messages = [{"role": "user", "content": "9.11 and 9.8, which is greater?"}]
response = client.chat.completions.create(model=model, messages=messages)

reasoning_content = response.choices[0].message.reasoning_content
content = response.choices[0].message.content

print("reasoning_content:", reasoning_content)
print("content:", content)
