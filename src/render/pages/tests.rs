use super::*;

#[test]
fn every_kind_with_entity_pages_has_detail_pages_and_every_list_its_own_path() {
    let all = Page::all();
    let details: Vec<Kind> = all
        .iter()
        .filter_map(|page| {
            let Page::Detail(kind) = page else {
                return None;
            };
            Some(*kind)
        })
        .collect();
    let entities: Vec<Kind> = super::super::data::ENTITIES
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(details, entities);
    let mut paths: Vec<&str> = List::ALL
        .iter()
        .filter_map(|list| Page::List(*list).spec()?.path)
        .collect();
    assert_eq!(paths.len(), List::ALL.len());
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), List::ALL.len());
    let channels = all
        .iter()
        .filter(|page| matches!(page, Page::Channel(_)))
        .count();
    assert_eq!(channels, crate::derive::CHANNEL_KINDS.len());
    // The inboxes, the months and the audit trail.
    assert_eq!(all.len(), List::ALL.len() + entities.len() + channels + 3);
    assert!(all.iter().all(|page| page.spec().is_some()));
}
