#!/usr/bin/env bash
# FastDeploy seed: chat_template_kwargs and reasoning_max_tokens (curl), with an image part.
# Serve first:  python -m core_engine.server --reasoning-parser deepseek-r1 --port 8192
# The bundled model reads text only: this request gets a clear 400 error, the server keeps serving.
# Unchanged from the seed except that the server address can come from BASE_URL.
curl -X POST "${BASE_URL:-http://0.0.0.0:8192}/v1/chat/completions" \
-H "Content-Type: application/json" \
-d '{
  "messages": [
    {"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "https://paddlenlp.bj.bcebos.com/datasets/paddlemix/demo_images/example2.jpg"}},
      {"type": "text", "text": "图中的文物属于哪个年代"}
    ]}
  ],
  "chat_template_kwargs":{"enable_thinking": true},
  "reasoning_max_tokens": 1024
}'
