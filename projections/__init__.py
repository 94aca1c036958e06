"""Read models built from the events table's DynamoDB stream: one module per read model, plus the runner."""
