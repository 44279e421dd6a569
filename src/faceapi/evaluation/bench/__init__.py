"""`faceapi bench`: the server driven over real HTTP at rising concurrency, and a stage profile."""
