//! Indexed storage: 100k users and 10k teams, then HTTP lookups and searches (no timing asserts).

use grafana_emulator::VersionProfile;

use crate::support::*;

#[tokio::test]
async fn hundred_thousand_users_and_ten_thousand_teams() {
    let (h, api) = start(VersionProfile::V12).await;
    h.with_state(|s| {
        for i in 0..100_000 {
            let login = format!("user{i:06}");
            let email = format!("{login}@scale.example");
            s.create_user(&login, &email, &login, "", None).unwrap();
        }
        for i in 0..10_000 {
            s.create_team(1, &format!("team-{i:05}"), "", None).unwrap();
        }
    });
    assert_eq!(h.user_count(), 100_001);
    assert_eq!(h.team_count(), 10_000);
    let lk = api.get("/api/users/lookup?loginOrEmail=user099999@scale.example").await.json();
    assert_eq!(lk["login"], "user099999");
    let s = api.get("/api/users/search?query=user05000&perpage=5&page=2").await.json();
    assert_eq!((s["totalCount"].as_i64(), s["users"][0]["login"].as_str()), (Some(10), Some("user050005")));
    let last = api.get("/api/users/search?perpage=100&page=1001").await.json();
    assert_eq!(last["users"].as_array().unwrap().len(), 1);
    let t = api.get("/api/teams/search?name=team-09999").await.json();
    assert_eq!(t["totalCount"], 1);
    let paged = api.get("/api/teams/search?perpage=50&page=200").await.json();
    assert_eq!(
        (paged["totalCount"].as_i64(), paged["teams"][49]["name"].as_str()),
        (Some(10_000), Some("team-09999"))
    );
    h.shutdown().await;
}
