//! Open a session whose record lives in Redis (db from REDIS_DB, default 14), with the
//! project's RedisStorage: redis-open CONFIG_JSON COOKIE_HEADER [AUDIENCE] [UA]
use session_core::{Config, Request, Session};
use session_redis::{RedisConfig, RedisStorage};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config = Config::from_text(&args[1]).expect("config");
    let db: i64 = std::env::var("REDIS_DB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14);
    let rc: RedisConfig = serde_json::from_value(serde_json::json!({
        "host": "127.0.0.1", "port": 6379, "database": db
    }))
    .expect("redis config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = RedisStorage::connect(rc).await.expect("redis");
        let sc = config.builder().storage(store).build().expect("build");
        let mut req = Request::new()
            .with_cookie(args[2].clone())
            .with_remote_addr("127.0.0.1".to_owned())
            .with_scheme("http".to_owned());
        if let Some(ua) = args.get(4) {
            req = req.with_user_agent(ua.clone());
        }
        let mut s = Session::new(&sc, req);
        if let Some(a) = args.get(3).filter(|a| !a.is_empty()) {
            s.set_audience(a).expect("aud");
        }
        let r = s.open().await;
        let v = s.inspect();
        println!(
            "{}",
            serde_json::json!({
                "ok": r.is_ok(), "err": r.as_ref().err().map(|e| e.to_string()),
                "data": v.data, "audience": v.audience, "subject": v.subject,
                "remember": s.get_remember().ok(),
            })
        );
    });
}
