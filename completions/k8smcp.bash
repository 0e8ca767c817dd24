_k8smcp_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _K8SMCP_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _k8smcp_completion k8smcp
