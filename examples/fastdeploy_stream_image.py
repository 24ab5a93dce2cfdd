"""FastDeploy seed: streaming with an image part, chat_template_kwargs and reasoning_max_tokens.

Serve first:  python -m core_engine.server --reasoning-parser deepseek-r1 --port 8192
The bundled model reads text only, so the server answers this request with a clear 400
(openai.BadRequestError) instead of crashing; fastdeploy_stream.py is the text-only variant.
Unchanged from the seed except that the base URL can come from OPENAI_BASE_URL.
"""

import os

from openai import OpenAI
# Set OpenAI's API key and API base to use vLLM's API server.
openai_api_key = "EMPTY"
openai_api_base = os.environ.get("OPENAI_BASE_URL", "http://localhost:8192/v1")
client = OpenAI(
    api_key=openai_api_key,
    base_url=openai_api_base,
)
chat_response = client.chat.completions.create(
    messages=[
        {"role": "user", "content": [ {"type": "image_url", "image_url": {"url": "https://paddlenlp.bj.bcebos.com/datasets/paddlemix/demo_images/example2.jpg"}},
             {"type": "text", "text": "图中的文物属于哪个年代"}]}
    ],
    model="vl",
    stream=True,
    extra_body={
        "chat_template_kwargs":{"enable_thinking": True},
        "reasoning_max_tokens": 1024
    }
)
for chunk in chat_response:
    if chunk.choices[0].delta is not None:
        print(chunk.choices[0].delta, end='')
print("\n")
