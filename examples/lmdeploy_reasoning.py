"""LMDeploy seed: streaming then non-streaming chat completion with reasoning_content.

Serve first:  reasoning-plugins serve --reasoning-parser deepseek-r1 --port 23333
(every delta carries reasoning_content and content, null when empty, as LMDeploy's do).
Unchanged from the seed except that the base URL can come from OPENAI_BASE_URL.
"""

import os

from openai import OpenAI

openai_api_key = "Your API key"
openai_api_base = os.environ.get("OPENAI_BASE_URL", "http://0.0.0.0:23333/v1")
client = OpenAI(
    api_key=openai_api_key,
    base_url=openai_api_base,
)
models = client.models.list()
model = models.data[0].id
messages = [{"role": "user", "content": "9.11 and 9.8, which is greater?"}]
response = client.chat.completions.create(model=model, messages=messages, stream=True)
for stream_response in response:
    print('reasoning content: ', stream_response.choices[0].delta.reasoning_content)
    print('content: ', stream_response.choices[0].delta.content)

response = client.chat.completions.create(model=model, messages=messages, stream=False)
reasoning_content = response.choices[0].message.reasoning_content
content = response.choices[0].message.content

print("reasoning_content:", reasoning_content)
print("content:", content)
