#!/usr/bin/env bash
# FastDeploy seed: tool calling with reasoning (curl). Calls are parsed from content only.
# Serve first:  python -m core_engine.server --reasoning-parser deepseek-r1 --tool-call-parser hermes --port 8390
# Unchanged from the seed except that the server address can come from BASE_URL.
curl -X POST "${BASE_URL:-http://0.0.0.0:8390}/v1/chat/completions" \
-H "Content-Type: application/json" \
-d '{
  "messages": [
    {
      "role": "user",
      "content": "北京今天天气怎么样?"
    }
  ],
  "tools": [
    {
      "type": "function",
      "function": {
        "name": "get_weather",
        "description": "Determine weather in my location",
        "parameters": {
          "type": "object",
          "properties": {
            "location": {
              "type": "string",
              "description": "The city and state e.g. San Francisco, CA"
            },
            "unit": {
              "type": "string",
              "enum": [
                "c",
                "f"
              ]
            }
          },
          "additionalProperties": false,
          "required": [
            "location",
            "unit"
          ]
        },
        "strict": true
      }
    }],
  "stream": false
}'
