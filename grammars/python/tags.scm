; Python definitions. Decorators are attached in code (decorated_definition).
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function

; Module-level assignments: `X = 1`, `X: int = 1`.
(module
  (expression_statement
    (assignment left: (identifier) @name)) @definition.variable)
