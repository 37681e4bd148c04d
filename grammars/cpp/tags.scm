; C++ definitions. `Foo::bar` names are split in code: `Foo` becomes the container.
; `template<...>` is attached in code.
(function_definition
  declarator: [
    (function_declarator declarator: (_) @qualified.name)
    (pointer_declarator declarator: (function_declarator declarator: (_) @qualified.name))
    (reference_declarator (function_declarator declarator: (_) @qualified.name))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (_) @qualified.name)))
  ]) @definition.function

(class_specifier name: (_) @qualified.name body: (_)) @definition.class
(struct_specifier name: (_) @qualified.name body: (_)) @definition.struct
(union_specifier name: (_) @qualified.name body: (_)) @definition.union
(enum_specifier name: (_) @qualified.name body: (_)) @definition.enum
(namespace_definition name: (_) @qualified.name) @definition.namespace
(concept_definition name: (identifier) @name) @definition.type
(alias_declaration name: (type_identifier) @name) @definition.type

(type_definition declarator: (type_identifier) @name) @definition.type
(type_definition declarator: (pointer_declarator declarator: (type_identifier) @name)) @definition.type

(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro

(translation_unit
  (declaration
    declarator: (init_declarator
      declarator: [
        (identifier) @name
        (array_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (identifier) @name)
        (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
      ])) @definition.variable)
