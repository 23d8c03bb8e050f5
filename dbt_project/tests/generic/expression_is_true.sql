{#-
    Rows for which `expression` is not true fail (like dbt_utils.expression_is_true). A null result
    fails too: an invariant that cannot be evaluated does not hold. Restrict the rows it applies to
    with the standard `config: {where: ...}`. As a column test, `column_name` is available to the
    expression but not added to it.
-#}
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
