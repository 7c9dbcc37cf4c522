//! Table-driven tests of the template engine: output, Go's messages, malformed input.

use serde_json::{Value, json};

use super::{Options, Template};

fn doc() -> Value {
    json!({
        "Name": "/web",
        "State": {"Running": true, "ExitCode": 0, "Pid": 42, "Error": ""},
        "Config": {
            "Env": ["A=1", "B=2"],
            "Cmd": ["sleep", "1000"],
            "ExposedPorts": {"8080/tcp": {}, "27017/tcp": {}},
        },
        "NetworkSettings": {
            "IPAddress": "172.17.0.2",
            "IPPrefixLen": 16,
            "Networks": {"bridge": {"IPAddress": "172.17.0.2", "Aliases": null}},
            "Ports": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "27017/tcp": null},
        },
        "Num": 1.5, "Big": 1_000_000.0, "Neg": -3, "Empty": "", "List": [],
        "Nested": [[1, "a"], {"k": null}],
    })
}

fn run(template: &str, options: &Options<'_>, data: &Value) -> Result<String, String> {
    let t = Template::parse(template).map_err(|e| e.to_string())?;
    t.execute(data, options).map_err(|e| {
        let e = e.to_string();
        assert!(
            e.contains("executing") || e.contains("netlab"),
            "{template}: {e}"
        );
        e
    })
}

#[test]
fn output() {
    let cases: &[(&str, &str)] = &[
        ("{{.Name}}", "/web"),
        (
            "ip={{ .NetworkSettings.IPAddress }}/{{.NetworkSettings.IPPrefixLen}}",
            "ip=172.17.0.2/16",
        ),
        (
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            "172.17.0.2",
        ),
        ("{{json .Config.Env}}", r#"["A=1","B=2"]"#),
        ("{{.Config.Env | json}}", r#"["A=1","B=2"]"#),
        ("{{json .NetworkSettings.IPAddress}}", r#""172.17.0.2""#),
        ("{{.Config.Env}}", "[A=1 B=2]"),
        (
            "{{index .NetworkSettings.Ports \"8080/tcp\"}}",
            "[map[HostIp:0.0.0.0 HostPort:8080]]",
        ),
        (
            "{{(index (index .NetworkSettings.Ports \"8080/tcp\") 0).HostPort}}",
            "8080",
        ),
        ("{{index .Config.Cmd 1}}", "1000"),
        ("{{index .Config.Cmd}}", "[sleep 1000]"),
        ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
        (
            "{{if not .State.Running}}a{{else if eq .State.ExitCode 0}}b{{else}}c{{end}}",
            "b",
        ),
        ("{{if .Empty}}a{{else if .List}}b{{else}}c{{end}}", "c"),
        ("{{with .State}}{{.Pid}}{{end}}", "42"),
        ("{{with .Empty}}x{{else}}none{{end}}", "none"),
        ("{{with $s := .State}}{{$s.Pid}}{{end}}", "42"),
        (
            "{{range $k, $v := .Config.ExposedPorts}}{{$k}} {{end}}",
            "27017/tcp 8080/tcp ",
        ),
        (
            "{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}},{{end}}",
            "0=sleep,1=1000,",
        ),
        ("{{range $e := .Config.Cmd}}{{$e}};{{end}}", "sleep;1000;"),
        ("{{range .List}}x{{else}}empty{{end}}", "empty"),
        ("{{range .Missing}}x{{else}}none{{end}}", "none"),
        (
            "{{range .Config.Cmd}}{{if eq . \"sleep\"}}{{continue}}{{end}}{{.}}{{end}}",
            "1000",
        ),
        ("{{range .Config.Cmd}}{{.}}{{break}}{{end}}", "sleep"),
        (
            "{{range .NetworkSettings.Ports}}{{range .}}{{.HostPort}}{{end}}{{end}}",
            "8080",
        ),
        ("{{range split \"a,b\" \",\"}}<{{.}}>{{end}}", "<a><b>"),
        ("{{.Missing}}", "<no value>"),
        ("{{.Missing.Deeper}}", "<no value>"),
        ("{{.NetworkSettings.Networks.bridge.Aliases}}", "<no value>"),
        ("{{json .NetworkSettings.Networks.bridge.Aliases}}", "null"),
        ("{{json .Missing}}", "null"),
        ("{{print .Missing}}", "<nil>"),
        ("{{.Nested}}", "[[1 a] map[k:<nil>]]"),
        (
            "{{.Num}} {{.Big}} {{.Neg}} {{1e3}} {{0.0001}} {{0.00001}}",
            "1.5 1e+06 -3 1000 0.0001 1e-05",
        ),
        ("{{'a'}} {{0x10}} {{-7}} {{1_000}}", "97 16 -7 1000"),
        ("{{`raw\\n`}}|{{\"\\u00e9\\t|\"}}", "raw\\n|é\t|"),
        (
            "{{printf \"%s|%5d|%-4s|%q|%v|%t|%x|%05d|%.1f|%c|%T|%%\" .Name 42 \"ab\" \"a\\\"b\" .Config.Env true 255 -42 2.26 65 .Config}}",
            "/web|   42|ab  |\"a\\\"b\"|[A=1 B=2]|true|ff|-0042|2.3|A|map[string]interface {}|%",
        ),
        ("{{printf \"%d %s\" \"x\"}}", "%!d(string=x) %!s(MISSING)"),
        ("{{printf \"%d\" 1 \"b\"}}", "1%!(EXTRA string=b)"),
        ("{{printf \"%2000000d\" 1}}", "%!(BADWIDTH)1"),
        (
            "{{printf \"%.2s|%e|%g|%+d\" \"abc\" 1234.5 0.5 3}}",
            "ab|1.234500e+03|0.5|+3",
        ),
        (
            "{{printf \"%q\" \"a\u{2028}é\\x01\"}}",
            "\"a\\u2028é\\x01\"",
        ),
        ("{{print 1 2 \"a\" \"b\" 3}}", "1 2ab3"),
        ("{{println 1 \"a\"}}", "1 a\n"),
        (
            "{{len .Config.Env}} {{len \"é\"}} {{len .Config.ExposedPorts}}",
            "2 2 2",
        ),
        ("{{join .Config.Env \",\"}}", "A=1,B=2"),
        (
            "{{split \"a,b\" \",\"}} {{index (split \"a,b\" \",\") 1}} {{split \"ab\" \"\"}}",
            "[a b] b [a b]",
        ),
        (
            "{{lower \"AbC\"}}{{upper \"x\"}}|{{title \"hello wORLD-foo_bar\"}}",
            "abcX|Hello WORLD-Foo_bar",
        ),
        (
            "{{pad \"x\" 1 2}}|{{pad \"\" 1 2}}|{{truncate \"abcdef\" 3}}|{{truncate \"ab\" 3}}",
            " x  ||abc|ab",
        ),
        ("{{.Name | printf \"%s!\"}}", "/web!"),
        ("{{.Name | printf \"%s-%s\" \"a\"}}", "a-/web"),
        ("{{$x := .Name}}{{$x}}", "/web"),
        ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
        (
            "{{$.Name}}{{range .Config.Cmd}}{{$.Name}}{{end}}",
            "/web/web/web",
        ),
        ("{{(.State).Pid}} {{$.State.Pid}}", "42 42"),
        ("a  {{- .Name -}}  b", "a/webb"),
        ("a {{- /* comment */ -}} b{{/* another */}}", "ab"),
        ("{{.Name -}}\n\t x", "/webx"),
        (
            "{{and 1 0}} {{or 0 \"\" \"z\"}} {{and 1 2}} {{or 0 .Empty}}",
            "0 z 2 ",
        ),
        ("{{and .Missing.X .Missing.X.Y}}", "<no value>"),
        (
            "{{eq .Name \"/web\" \"x\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}} {{eq 1 1.0}}",
            "true true true true true false true",
        ),
        ("{{eq .Missing nil}} {{eq .Name nil}}", "true false"),
        (
            "{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}",
            "ok",
        ),
        ("{{.}}", ""),
    ];
    let d = doc();
    for (t, want) in cases {
        let data = if *t == "{{.}}" { json!("") } else { d.clone() };
        assert_eq!(
            run(t, &Options::default(), &data).as_deref(),
            Ok(*want),
            "{t}"
        );
    }
}

#[test]
fn go_messages() {
    let d = doc();
    let nets = d["NetworkSettings"]["Networks"].as_object().unwrap();
    let docker = Options {
        missing_key_error: true,
        maps: vec![nets],
        omitted: vec![],
        header: false,
    };
    let plain = Options::default();
    let cases: &[(&str, &Options, &str)] = &[
        // Measured with Docker 20.10's `inspect -f`.
        (
            "{{.Foo}}",
            &docker,
            r#"template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo""#,
        ),
        (
            "{{.State.Foo}}",
            &docker,
            r#"template: :1:8: executing "" at <.State.Foo>: map has no entry for key "Foo""#,
        ),
        (
            "{{.Name}}{{.Foo}}",
            &docker,
            r#"template: :1:11: executing "" at <.Foo>: map has no entry for key "Foo""#,
        ),
        (
            "{{range .NetworkSettings.Networks}}{{.Nope}}{{end}}",
            &docker,
            r#"template: :1:37: executing "" at <.Nope>: map has no entry for key "Nope""#,
        ),
        (
            "{{index .Config.Cmd 5}}",
            &docker,
            r#"template: :1:2: executing "" at <index .Config.Cmd 5>: error calling index: index out of range: 5"#,
        ),
        (
            "{{.NetworkSettings.Networks.bridge.Aliases.X}}",
            &docker,
            r#"template: :1:18: executing "" at <.NetworkSettings.Networks.bridge.Aliases.X>: nil pointer evaluating interface {}.X"#,
        ),
        (
            "a\n  {{.X.Y}}",
            &docker,
            r#"template: :2:6: executing "" at <.X.Y>: map has no entry for key "X""#,
        ),
        (
            "{{$x := .Nope}}",
            &docker,
            r#"template: :1:8: executing "" at <.Nope>: map has no entry for key "Nope""#,
        ),
        // Go's other words.
        (
            "{{.Name.X}}",
            &plain,
            r#"template: :1:7: executing "" at <.Name.X>: can't evaluate field X in type string"#,
        ),
        (
            "{{.Config.Env.X}}",
            &plain,
            r#"template: :1:9: executing "" at <.Config.Env.X>: can't evaluate field X in type []interface {}"#,
        ),
        (
            "{{range .Name}}{{end}}",
            &plain,
            r#"template: :1:8: executing "" at <.Name>: range can't iterate over /web"#,
        ),
        (
            "{{upper 3}}",
            &plain,
            r#"template: :1:2: executing "" at <upper 3>: wrong type for value; expected string; got int"#,
        ),
        (
            "{{upper}}",
            &plain,
            r#"template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0"#,
        ),
        (
            "{{len 3}}",
            &plain,
            r#"template: :1:2: executing "" at <len 3>: error calling len: len of type int"#,
        ),
        (
            "{{eq .Config.Env 1}}",
            &plain,
            r#"template: :1:2: executing "" at <eq .Config.Env 1>: error calling eq: invalid type for comparison"#,
        ),
        (
            "{{lt 1 \"a\"}}",
            &plain,
            r#"template: :1:2: executing "" at <lt 1 "a">: error calling lt: incompatible types for comparison"#,
        ),
        (
            "{{index .Name \"a\"}}",
            &plain,
            r#"template: :1:2: executing "" at <index .Name "a">: error calling index: cannot index slice/array with type string"#,
        ),
        (
            "{{index .Missing 1}}",
            &plain,
            r#"template: :1:2: executing "" at <index .Missing 1>: error calling index: index of untyped nil"#,
        ),
        (
            "{{join .Nested \",\"}}",
            &plain,
            r#"template: :1:2: executing "" at <join .Nested ",">: wrong type for value; expected []string; got []interface {}"#,
        ),
        (
            "{{.Name 1}}",
            &plain,
            r#"template: :1:2: executing "" at <.Name>: Name is not a method but has arguments"#,
        ),
        (
            "{{1 2}}",
            &plain,
            r#"template: :1:2: executing "" at <1>: can't give argument to non-function 1"#,
        ),
        (
            "{{nil}}",
            &plain,
            r#"template: :1:2: executing "" at <nil>: nil is not a command"#,
        ),
        (
            "{{pad \"a\" -1 0}}",
            &plain,
            r#"template: :1:2: executing "" at <pad "a" -1 0>: error calling pad: strings: negative Repeat count"#,
        ),
    ];
    for (t, options, want) in cases {
        assert_eq!(
            run(t, options, &d).as_ref().map_err(String::as_str),
            Err(*want),
            "{t}"
        );
    }
    // A Go map of Docker's types prints <no value> for a missing key even so.
    assert_eq!(
        run("{{.NetworkSettings.Networks.foo}}", &docker, &d).unwrap(),
        "<no value>"
    );
    assert_eq!(
        run("{{index .NetworkSettings.Networks \"foo\"}}", &docker, &d).unwrap(),
        "<no value>"
    );
}

#[test]
fn parse_errors() {
    let cases: &[(&str, &str)] = &[
        // Measured with Docker 20.10.
        ("{{.Foo", "template: :1: unclosed action"),
        (
            "{{foo .Names}}",
            "template: :1: function \"foo\" not defined",
        ),
        ("{{if}}{{end}}", "template: :1: missing value for if"),
        ("{{end}}", "template: :1: unexpected {{end}}"),
        // Go's other words.
        ("{{if .A}}", "template: :1: unexpected EOF"),
        ("{{range .A}}x", "template: :1: unexpected EOF"),
        ("{{else}}", "template: :1: unexpected {{else}}"),
        (
            "{{range .A}}{{else}}{{else}}{{end}}",
            "template: :1: expected end; found {{else}}",
        ),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        (
            "{{range .A}}{{else}}{{continue}}{{end}}",
            "template: :1: {{continue}} outside {{range}}",
        ),
        ("{{$x}}", "template: :1: undefined variable \"$x\""),
        (
            "{{if 1}}{{$x := 1}}{{end}}{{$x}}",
            "template: :1: undefined variable \"$x\"",
        ),
        ("{{$x = 1}}", "template: :1: undefined variable \"$x\""),
        (
            "{{$a, $b := .A}}",
            "template: :1: too many declarations in command",
        ),
        (
            "{{.A | \"x\"}}",
            "template: :1: non executable command in pipeline stage 2",
        ),
        ("{{.A |}}", "template: :1: missing command"),
        ("{{}}", "template: :1: missing value for command"),
        ("{{(.A}}", "template: :1: unclosed left paren"),
        ("{{.A)}}", "template: :1: unexpected right paren"),
        ("{{.A\"x\"}}", "template: :1: bad character U+0022 '\"'"),
        (
            "{{print 1\"x\"}}",
            "template: :1: unexpected \"\\\"x\\\"\" in operand",
        ),
        (
            "{{\"a\".B}}",
            "template: :1: unexpected . after term \"\\\"a\\\"\"",
        ),
        ("{{.A | end}}", "template: :1: unexpected <end> in command"),
        (
            "{{if .A}}{{end x}}",
            "template: :1: unexpected \"x\" in end",
        ),
        (
            "\n\n{{template \"x\"}}",
            "template: :3: {{template}} is not supported by netlab: write the template inline",
        ),
        (
            "{{html .A}}",
            "template: :1: function \"html\" is not supported by netlab",
        ),
    ];
    for (t, want) in cases {
        assert_eq!(
            run(t, &Options::default(), &doc())
                .as_ref()
                .map_err(String::as_str),
            Err(*want),
            "{t}"
        );
    }
    let deep = format!(
        "{}.A{}",
        "{{".to_owned() + &"(".repeat(150),
        ")".repeat(150) + "}}"
    );
    let e = run(&deep, &Options::default(), &doc()).unwrap_err();
    assert!(e.contains("nesting deeper than 100"), "{e}");
    let deep = "{{if 1}}".repeat(150);
    assert!(
        run(&deep, &Options::default(), &doc())
            .unwrap_err()
            .contains("nesting")
    );
}

#[test]
fn header_pass_keeps_column_names() {
    let header = json!({"Names": "NAMES", "ID": "CONTAINER ID"});
    let options = Options {
        header: true,
        ..Options::default()
    };
    assert_eq!(
        run(
            "{{upper .Names}}\t{{json .ID}}\t{{truncate .ID 2}}\t{{pad .Names 1 1}}",
            &options,
            &header
        )
        .unwrap(),
        "NAMES\tCONTAINER ID\tCONTAINER ID\t NAMES "
    );
}

#[test]
fn limits() {
    // 70 lines of a million spaces: past the output limit, an error and not 70 MB.
    let data = json!({"A": vec![0; 70]});
    let e = run(
        "{{range .A}}{{printf \"%1000000s\" \"\"}}{{end}}",
        &Options::default(),
        &data,
    )
    .unwrap_err();
    assert!(e.contains("larger than"), "{e}");
    // Doubling a variable runs into the limit on a function's result.
    let e = run(
        "{{$x := printf \"%1000000s\" \"\"}}{{range .A}}{{$x = printf \"%s%s\" $x $x}}{{end}}",
        &Options::default(),
        &data,
    )
    .unwrap_err();
    assert!(e.contains("larger than"), "{e}");
    // Nested ranges over 10,000 elements: stopped by the step limit, not left running.
    let data = json!({"A": vec![0; 10_000]});
    let e = run(
        "{{range .A}}{{range $.A}}{{range $.A}}{{end}}{{end}}{{end}}",
        &Options::default(),
        &data,
    )
    .unwrap_err();
    assert!(e.contains("steps"), "{e}");
}

/// Malformed and odd templates, generated from fragments: none may panic, and every
/// failure is a parse or run error in Go's form.
#[test]
fn malformed_templates_fail_cleanly() {
    const FRAGMENTS: [&str; 34] = [
        "{{",
        "}}",
        "{{- ",
        " -}}",
        "-",
        " ",
        ".",
        "A",
        "Name",
        "$",
        "$x",
        "(",
        ")",
        "|",
        "\"",
        "`",
        "'",
        ":=",
        "=",
        ",",
        "if ",
        "end",
        "else",
        "range ",
        "with ",
        "1",
        "é",
        "/*",
        "*/",
        "\n",
        "index",
        "printf \"%",
        "break",
        "json",
    ];
    let d = doc();
    let nets = d["NetworkSettings"]["Networks"].as_object().unwrap();
    let options = [
        Options::default(),
        Options {
            missing_key_error: true,
            maps: vec![nets],
            omitted: vec![],
            header: false,
        },
        Options {
            header: true,
            ..Options::default()
        },
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..30_000 {
        let len = 1 + (next() % 10) as usize;
        let t: String = (0..len)
            .map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize])
            .collect();
        match Template::parse(&t) {
            Err(e) => assert!(e.to_string().starts_with("template: :"), "{t:?}: {e}"),
            Ok(parsed) => {
                for o in &options {
                    if let Err(e) = parsed.execute(&d, o) {
                        assert!(e.to_string().starts_with("template: "), "{t:?}: {e}");
                    }
                }
            }
        }
    }
}

/// Fields Docker's JSON leaves out when empty print as the empty string where the options
/// name them (Docker runs the template over its typed structs), `<no value>` elsewhere.
#[test]
fn omitted_fields_are_empty_strings() {
    let d = json!({"IPAM": {"Config": [
        {"Subnet": "10.0.0.0/24"},
        {"Subnet": "10.0.1.0/24", "Gateway": "10.0.1.9"},
    ]}, "Other": {}});
    let config = d["IPAM"]["Config"].as_array().unwrap();
    let options = Options {
        omitted: config
            .iter()
            .map(|c| (c.as_object().unwrap(), &["Subnet", "Gateway"][..]))
            .collect(),
        ..Options::default()
    };
    for (t, want) in [
        (
            "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}};{{end}}",
            "10.0.0.0/24 ;10.0.1.0/24 10.0.1.9;",
        ),
        (
            "{{range .IPAM.Config}}{{.IPRange}};{{end}}",
            "<no value>;<no value>;",
        ),
        ("{{.Other.Gateway}}", "<no value>"),
        (
            "{{json .IPAM.Config}}",
            r#"[{"Subnet":"10.0.0.0/24"},{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.9"}]"#,
        ),
    ] {
        assert_eq!(run(t, &options, &d).as_deref(), Ok(want), "{t}");
    }
}
