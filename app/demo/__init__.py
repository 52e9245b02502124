"""The bundled demo: real SmolLM2-135M-Instruct samples on the seeded arithmetic benchmark, and the code
that loads them into a store (`coverscope demo`) or makes them again (`coverscope demo --regenerate`)."""
